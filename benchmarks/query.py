"""Composed/conditional query latency over N vectors, and Chroma's query latency and recall.

    python -m benchmarks.query --n 100000 [--dim 512] [--json]

compose_ms / condition_ms: one composed (weighted sum) or conditioned (text-basis projection) query
ranked over all N vectors already in memory, as the pages do; compose_all_six_methods_ms: the Compose
page's side-by-side view (every method, one interaction).
neighbours_p50_ms / neighbours_p95_ms / neighbours_recall_at_10: the path the Neighbours page, the map and
Label use (``query_runner.run`` of a ``NeighboursQuery``, exact over the cached matrix) for "neighbours of
this item" queries (no encoding: that is the model's time, not the search's), and neighbours_kind_p95_ms
with a kind filter.
chroma_p50_ms / chroma_p95_ms: ``collection.query`` for the top 10 (HNSW, cosine), and
chroma_recall_at_10: its overlap with exact search, for comparison (no page uses it any more).

    python -m benchmarks.query --n 1000000 --compact [--json]

--compact instead compares representations of the same N vectors for exact-search at scale: float32 (what
the pages use), float16, and int8 codes whose shortlist of 100 is re-ranked from the full float32 vectors
kept in a memory-mapped file (``indexing.store.compact``): bytes per vector, share of float32 memory, recall@10
against exact float32 search, p50/p95 ms per query; and, from ``query_runner.COMPACT_FROM`` items,
query_runner: the pages' own path at that size (``query_runner.run`` over the memory-mapped file, which
then searches the int8 codes and re-scores its shortlist exactly).
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import chromadb
import numpy as np

from benchmarks.report import parser, print_figures
from indexing.query.compose import ComposeInputs, compose_scores
from indexing.query.condition import ConditionInputs, condition_scores, text_basis
from indexing.query import runner as query_runner
from indexing.query.runner import Context, Snapshot, run
from indexing.query.specs import NeighboursQuery, Source
from indexing.core.ranking import keep_only, rank, top_k
from indexing.store.chroma import Record, Store


def unit(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(50, dim)).astype(np.float32)
    v = centres[rng.integers(0, 50, n)] + 0.5 * rng.normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _time_ms(fn, repeats: int) -> list[float]:
    fn()
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def measure(n: int, dim: int, queries: int) -> dict:
    gallery = unit(n, dim, 0)
    probes = unit(queries + 8, dim, 1)
    x = ComposeInputs(gallery[0], probes[0], probes[1:3], gallery, 0.5)
    compose_ms = _time_ms(lambda: rank(compose_scores(x, ("sum",))["sum"], 10, exclude=0), 10)
    all_methods_ms = _time_ms(lambda: [rank(s, 10, exclude=0) for s in compose_scores(x).values()], 5)
    basis = text_basis(probes[:8])
    c = ConditionInputs(gallery[0], probes[0], gallery, basis)
    condition_ms = _time_ms(lambda: rank(condition_scores(c, ("basis",))["basis"], 10, exclude=0), 10)

    records = [Record(f"id{i}", "image" if i % 4 else "text", "", None) for i in range(n)]
    context = Context(None, Snapshot(records, gallery), Path(tempfile.gettempdir()))  # item queries: no encoder
    context.snapshot.allowed("image")  # the lookups a lab builds once per collection version
    page, page_kind, page_recall = [], [], []
    for i in np.random.default_rng(2).choice(n, queries, replace=False):
        t0 = time.perf_counter()
        top = run(NeighboursQuery(Source(item=f"id{i}"), k=10), context).top["clip"]
        page.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        run(NeighboursQuery(Source(item=f"id{i}"), k=10, kind="image"), context)
        page_kind.append((time.perf_counter() - t0) * 1000)
        exact = [j for j in np.argsort(-(gallery @ gallery[i]))[:11].tolist() if j != i][:10]
        page_recall.append(len(set(exact) & set(top)) / 10)

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(chromadb.PersistentClient(path=tmp), "bench", "bench", dim)
        start = time.perf_counter()
        store.upsert([Record(f"id{i}", "image", "", None) for i in range(n)], gallery)
        upsert_s = time.perf_counter() - start
        latencies, recalls = [], []
        for q in probes[8:8 + queries]:
            t0 = time.perf_counter()
            hits = store.query(q, 10)
            latencies.append((time.perf_counter() - t0) * 1000)
            exact = set(np.argsort(-(gallery @ q))[:10].tolist())
            recalls.append(len(exact & {int(h.id[2:]) for h in hits}) / 10)
    return {"n": n, "dim": dim, "compose_ms": round(float(np.median(compose_ms)), 1),
            "compose_all_six_methods_ms": round(float(np.median(all_methods_ms)), 1),
            "condition_ms": round(float(np.median(condition_ms)), 1),
            "neighbours_p50_ms": round(float(np.percentile(page, 50)), 2),
            "neighbours_p95_ms": round(float(np.percentile(page, 95)), 2),
            "neighbours_kind_p95_ms": round(float(np.percentile(page_kind, 95)), 2),
            "neighbours_recall_at_10": round(float(np.mean(page_recall)), 4),
            "chroma_p50_ms": round(float(np.percentile(latencies, 50)), 2),
            "chroma_p95_ms": round(float(np.percentile(latencies, 95)), 2),
            "chroma_recall_at_10": round(float(np.mean(recalls)), 4), "chroma_upsert_s": round(upsert_s, 1)}


def measure_compact(n: int, dim: int, queries: int, shortlist: int = 100) -> dict:
    """float32 vs float16 vs int8 + re-rank on the same clustered vectors, one run."""
    import torch

    from indexing.store.compact import Int8Vectors, search

    gallery = unit(n, dim, 0)
    probes = unit(queries, dim, 1)
    exact = [set(rank(gallery @ q, 10).tolist()) for q in probes]
    out: dict = {"n": n, "dim": dim, "shortlist": shortlist}

    def report(name: str, nbytes: int, fn) -> None:
        fn(probes[0])
        times, recall = [], []
        for q, truth in zip(probes, exact):
            t0 = time.perf_counter()
            top = fn(q)
            times.append((time.perf_counter() - t0) * 1000)
            recall.append(len(truth & set(np.asarray(top).tolist())) / 10)
        out[name] = {"bytes_per_vector": round(nbytes / n, 1), "memory_vs_float32": round(nbytes / gallery.nbytes, 3),
                     "recall_at_10": round(float(np.mean(recall)), 4),
                     "p50_ms": round(float(np.percentile(times, 50)), 1), "p95_ms": round(float(np.percentile(times, 95)), 1)}

    report("float32", gallery.nbytes, lambda q: rank(gallery @ q, 10))
    half = torch.from_numpy(gallery).half()
    report("float16", half.numel() * 2, lambda q: rank((half @ torch.from_numpy(q).half()).float().numpy(), 10))

    codes = Int8Vectors(gallery)
    with tempfile.TemporaryDirectory() as tmp:  # the full vectors on disk: only shortlists are read back
        full = np.lib.format.open_memmap(Path(tmp) / "full.npy", mode="w+", dtype=np.float32, shape=gallery.shape)
        full[:] = gallery
        full.flush()
        report("int8_rerank", codes.nbytes, lambda q: search(codes, full, q, 10, shortlist)[0])
        report("int8_no_rerank", codes.nbytes, lambda q: rank(codes.approximate(q), 10))
        if n >= query_runner.COMPACT_FROM:
            out["query_runner"] = _runner_on_file(full, queries)
    return out


def _runner_on_file(full: np.ndarray, queries: int) -> dict:
    """The path the pages take at this size: ``query_runner.run`` of "neighbours of this item" over a
    memory-mapped float32 file, which from ``COMPACT_FROM`` items searches int8 codes (built once per
    collection version, timed) and re-scores the shortlist exactly. Recall@10 against exact float32, also
    for queries from outside the collection with low cosines (as a text query's are with images: the
    runner's own scoring, ``Snapshot.cosines``, after the encoder) with and without a kind filter."""
    n = len(full)
    records = [Record(f"id{i}", "text" if i % 4 == 0 else "image", "", None) for i in range(n)]
    context = Context(None, Snapshot(records, full), Path(tempfile.gettempdir()))
    snapshot = context.snapshot
    start = time.perf_counter()
    codes = snapshot.compact
    build_s = time.perf_counter() - start
    rng = np.random.default_rng(3)
    items = rng.choice(n, queries, replace=False)
    truth = [{j for j in rank(np.asarray(full) @ full[i], 11).tolist() if j != i} for i in items]  # before timing
    times, recall = [], []
    for i, exact in zip(items, truth):
        t0 = time.perf_counter()
        top = run(NeighboursQuery(Source(item=f"id{i}"), k=10), context).top["clip"]
        times.append((time.perf_counter() - t0) * 1000)
        recall.append(len(exact & set(top)) / 10)
    noise = rng.normal(size=(queries, full.shape[1])).astype(np.float32)
    far = 0.3 * np.asarray(full[items]) + 0.95 * noise / np.linalg.norm(noise, axis=1, keepdims=True)
    far /= np.linalg.norm(far, axis=1, keepdims=True)
    images = snapshot.allowed("image")
    far_recall, filtered_recall, top_cosine = [], [], []
    for q in far:
        exact_scores = np.asarray(full) @ q
        top_cosine.append(float(exact_scores.max()))
        for allowed, out in ((None, far_recall), (images, filtered_recall)):
            exact = set(top_k(keep_only(exact_scores, allowed), 10))
            out.append(len(exact & set(top_k(snapshot.cosines(q, allowed), 10))) / 10)
    return {"shortlist": query_runner.SHORTLIST, "codes_bytes_per_vector": round(codes.nbytes / n, 1),
            "codes_build_s": round(build_s, 2), "recall_at_10": round(float(np.mean(recall)), 4),
            "p50_ms": round(float(np.percentile(times, 50)), 1), "p95_ms": round(float(np.percentile(times, 95)), 1),
            "low_cosine_queries_best_cosine_mean": round(float(np.mean(top_cosine)), 3),
            "low_cosine_recall_at_10": round(float(np.mean(far_recall)), 4),
            "low_cosine_images_only_recall_at_10": round(float(np.mean(filtered_recall)), 4)}


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--dim", type=int, default=512)
    p.add_argument("--queries", type=int, default=100)
    p.add_argument("--compact", action="store_true", help="compare float32, float16 and int8 + re-rank instead")
    p.add_argument("--shortlist", type=int, default=100, help="int8 candidates re-ranked at full precision")
    args = p.parse_args()
    result = (measure_compact(args.n, args.dim, args.queries, args.shortlist) if args.compact
              else measure(args.n, args.dim, args.queries))
    print_figures(result, args.json)


if __name__ == "__main__":
    main()
