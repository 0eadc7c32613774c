"""Region search at scale: the app's first pass + exact MaxSim re-rank against exhaustive MaxSim.

    python -m benchmarks.region --n 100000 [--dim 512] [--queries 40] [--shortlist 5000[,7000…]] [--keep DIR]
        [--json]

Synthetic region vectors shaped like a CLIP model's: ``--dim`` dims, 16 regions per image, every region
sharing one mean direction (as CLIP vectors do), each the view of one of 5,000 concepts (drawn Zipf-like,
so some are common) at its own clarity. They are stored through the app's own ``RegionFiles`` (4-bit codes,
int8 MUVERA encodings and their signs in memory-mapped files). Queries: half are one vector (a text, "any
region"), half are three regions of an image (a box).

recall_at_10: overlap of the first pass + re-rank's top 10 with exhaustive MaxSim's over the same stored
vectors (every image's codes scored, the app's path below 20,000 images); the shortlist re-ranked is the
app's own size at ``--n`` unless ``--shortlist`` names others;
speedup: exhaustive ms / first-pass-and-re-rank ms per query (both in this run); p50/p95_ms of the latter;
bytes_per_image: region codes + encoding + its signs + its scale on disk; build_s: writing the files (0 when
``--keep`` already held them).
"""
from __future__ import annotations

import tempfile
import time

import numpy as np

from benchmarks.report import parser, print_figures
from indexing.query.runner import shortlist_size
from indexing.store.region_files import RegionFiles

REGIONS, CONCEPTS, CHUNK = 16, 5000, 10_000


class Synthetic:
    """Seeded region vectors: a shared direction, Zipf-drawn concepts, a clarity per region."""

    def __init__(self, dim: int, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        mean = self.rng.standard_normal(dim)
        self.mean = mean / np.linalg.norm(mean)
        self.concepts = self.rng.standard_normal((CONCEPTS, dim)) / np.sqrt(dim)
        weights = 1 / np.arange(1, CONCEPTS + 1) ** 0.8
        self.weights = weights / weights.sum()
        self.dim = dim

    def _unit(self, x: np.ndarray) -> np.ndarray:
        return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)

    def images(self, n: int) -> np.ndarray:
        picks = self.rng.choice(CONCEPTS, (n, REGIONS), p=self.weights)
        clarity = self.rng.uniform(0.4, 1.6, (n, REGIONS, 1))
        noise = self.rng.standard_normal((n, REGIONS, self.dim)) / np.sqrt(self.dim)
        return self._unit(0.6 * self.mean + self.concepts[picks] + clarity * noise)

    def text(self, rng: np.random.Generator) -> np.ndarray:
        concept = rng.choice(CONCEPTS, p=self.weights)
        noise = 0.3 * rng.standard_normal(self.dim) / np.sqrt(self.dim)
        return self._unit(0.6 * self.mean + self.concepts[concept] + noise)[None]


def _exhaustive(files: RegionFiles, n: int, query: np.ndarray) -> np.ndarray:
    """Exact MaxSim of every stored image, read from its codes (the app's path below 20,000 images)."""
    return files.maxsim(query, np.arange(n))


def _first_pass(files: RegionFiles, query: np.ndarray, shortlist: int) -> np.ndarray:
    """The runner's path from 20,000 images: the encodings' signs, then their int8 inner products, make the
    shortlist; exact MaxSim re-ranks it."""
    rows = np.arange(files.count())
    estimate = files.first_pass(query, rows, shortlist)
    short = np.sort(np.argpartition(-estimate, shortlist - 1)[:shortlist])
    exact = files.maxsim(query, short)
    return short[np.argsort(-exact, kind="stable")[:10]]


def _build(files: RegionFiles, data: Synthetic, n: int) -> float:
    """Write n images' region vectors (none if ``files`` already holds them; the ids it holds are skipped);
    seconds taken."""
    if files.count() >= n:
        return 0.0
    started = time.perf_counter()
    for start in range(0, n, CHUNK):  # the same draws, so the same images
        block = data.images(min(CHUNK, n - start))
        files.append([f"img-{i}" for i in range(start, start + len(block))], block)
    return time.perf_counter() - started


def _queries(files: RegionFiles, data: Synthetic, n: int, count: int, seed: int) -> list[np.ndarray]:
    """Half texts (one vector), half boxes: three stored regions of a stored image, as the app reads them."""
    rng = np.random.default_rng(seed + 1)  # the queries' own draws: the same whether the files were built now
    return [data.text(rng) if q % 2 == 0 else files.regions_of(rng.integers(n, size=1))[0, rng.choice(REGIONS, 3,
                                                                                                   replace=False)]
            for q in range(count)]


def measure(n: int, dim: int, queries: int, shortlists: list[int], seed: int = 0, keep: str | None = None) -> dict:
    """Exhaustive MaxSim for every query first, then each shortlist's first pass + re-rank for every query
    (grouped, so each path runs on its own working set, as the app's one path does)."""
    data = Synthetic(dim, seed)
    with tempfile.TemporaryDirectory() as scratch:
        files = RegionFiles(keep or scratch, f"bench-{n}-{dim}-{seed}", dim, REGIONS)
        build = _build(files, data, n)
        asked = _queries(files, data, n, queries, seed)
        slow, best = [], []
        for query in asked:
            t0 = time.perf_counter()
            exact = _exhaustive(files, n, query)
            slow.append(time.perf_counter() - t0)
            best.append(set(np.argsort(-exact, kind="stable")[:10]))
        out = {"n": n, "dim": dim, "regions_per_image": REGIONS, "fde_dims": files.fde.size,
               "bytes_per_image": files.bytes_per_image, "build_s": round(build, 1),
               "exhaustive_p50_ms": round(float(np.percentile(slow, 50) * 1000), 1)}
        for size in shortlists:
            recall, fast = [], []
            for query, top10 in zip(asked, best):
                t1 = time.perf_counter()
                top = _first_pass(files, query, min(size, n))
                fast.append(time.perf_counter() - t1)
                recall.append(len(set(top) & top10) / 10)
            out[f"shortlist_{size}"] = {
                "recall_at_10": round(float(np.mean(recall)), 4),
                "recall_at_10_text": round(float(np.mean(recall[0::2])), 4),
                "recall_at_10_box": round(float(np.mean(recall[1::2])), 4) if recall[1::2] else None,
                "speedup": round(float(np.mean(slow) / np.mean(fast)), 2),
                "p50_ms": round(float(np.percentile(fast, 50) * 1000), 1),
                "p95_ms": round(float(np.percentile(fast, 95) * 1000), 1)}
        return out


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--dim", type=int, default=512)
    p.add_argument("--queries", type=int, default=40)
    p.add_argument("--shortlist", default="", help="images re-ranked by exact MaxSim; several: 1000,5000 "
                   "(default: the app's own size at --n)")
    p.add_argument("--keep", default=None, help="a folder to keep the written files in, and to reuse them from "
                   "(building 1,000,000 images takes about half an hour on 2 cores)")
    args = p.parse_args()
    sizes = [int(s) for s in args.shortlist.split(",")] if args.shortlist else [shortlist_size(args.n, 10)]
    print_figures(measure(args.n, args.dim, args.queries, sizes, keep=args.keep), args.json)


if __name__ == "__main__":
    main()
