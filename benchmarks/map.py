"""Map timings on N synthetic clustered 512-d unit vectors, or the first map of a fresh install.

    python -m benchmarks.map --n 10000 [--regions] [--json]
    python -m benchmarks.map --cold [--demo 500] [--json]

fit_s: time to a ready map (PCA, UMAP on at most `sample` items, the rest placed), after numba warm-up.
place_ms: placing one query on the map (among its 10 nearest points, from the query runner's cosines: int8 codes
and an exact shortlist from query_runner.COMPACT_FROM items; codes_s: building those codes, once per version;
place_float32_ms: the same from one exact float32 product).
payload_bytes: the figure JSON sent to the browser.
interaction_ms: server-side work of one widget interaction (colour change): categories, figure, JSON.
--regions adds: cluster_s (k-means, as the Map's Names and Images need), names_s (naming every cluster with
the default vocabulary, ViT-B-32 with random weights encoding the terms: the time, not the words, is the
point), interaction_named_ms (the figure with names and one exemplar picture per region), compare_s (the
k-NN agreement with a second, perturbed set of vectors, as "Compare with another model" computes it; above
20,000 items on a seeded sample of 20,000).

--cold: a fresh data directory and an empty numba cache; the demo world (bundled model) is ingested, then a
new process stands in for the app server: startup_s (imports, model, store), first_map_s (from opening the
Map page: vectors read, the map the page shows first, the figure as JSON), umap_ready_s (until the UMAP map
replaces it), and umap_ready_warm_cache_s (the same in a second new process, with the numba cache kept).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.report import parser, print_figures
from components.map.figure import LABELLED_UP_TO, colour_values, map_figure
from components.map.view import region_points
from indexing.maps.projection import MapParams, fit, locate, warm_up
from indexing.query.runner import Snapshot
from indexing.store.chroma import Record


def synthetic(n: int, dim: int = 512, centres: int = 30, seed: int = 0, out: np.ndarray | None = None) -> np.ndarray:
    """``n`` unit vectors around ``centres`` random centres, made in float32 chunks (into ``out`` if given)."""
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, dim), dtype=np.float32)
    out = np.empty((n, dim), np.float32) if out is None else out
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        v = c[rng.integers(0, centres, m)] + 0.35 * rng.standard_normal((m, dim), dtype=np.float32)
        out[start:start + m] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def on_disk(n: int, folder: str) -> np.ndarray:
    """The synthetic vectors as the app keeps a large collection's: a float32 .npy file, memory-mapped."""
    path = Path(folder) / "vectors.npy"
    synthetic(n, out=np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, 512))).flush()
    return np.load(path, mmap_mode="r")


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def regions(records: list[Record], vectors: np.ndarray, coords: np.ndarray) -> dict:
    """Names, pictures and the two-model comparison on the same synthetic collection."""
    from components.map.figure import Regions
    from indexing.maps.names import Vocabulary, default_terms, name_clusters
    from indexing.maps.clusters import cluster
    from indexing.maps.compare import knn_agreement, sample
    from indexing.model.encoder import Encoder
    from indexing.model.zoo import resolve_model

    start = time.perf_counter()
    found = cluster(vectors)
    cluster_s = time.perf_counter() - start
    encoder = Encoder(resolve_model("ViT-B-32", "none"))
    start = time.perf_counter()
    names = name_clusters(found, records, vectors, encoder, Vocabulary.of(default_terms(records), records))
    names_s = time.perf_counter() - start
    named = Regions.of(coords, found.labels, [n.label for n in names])
    start = time.perf_counter()
    for field in ("group", "kind", "group"):
        fig = map_figure(coords, records, colour_values(records, field), regions=named)
        fig.update_layout(images=[{"source": "data:image/jpeg;base64," + "A" * 2000, "x": float(x), "y": float(y),
                                   "xref": "x", "yref": "y", "sizex": 0.1, "sizey": 0.1}
                                  for x, y in named.centres[:, :2]])
        fig.to_json()
    interaction_named_ms = (time.perf_counter() - start) / 3 * 1000
    other = vectors + 0.05 * np.random.default_rng(1).normal(size=vectors.shape).astype(np.float32)
    other /= np.linalg.norm(other, axis=1, keepdims=True)
    start = time.perf_counter()
    ia, ib = sample(np.arange(len(vectors)), np.arange(len(vectors)))
    shared = knn_agreement(vectors[ia], other[ib])
    compare_s = time.perf_counter() - start
    return {"clusters": len(found.sizes), "cluster_s": round(cluster_s, 2), "names_s": round(names_s, 2),
            "interaction_named_ms": round(interaction_named_ms, 1), "compare_s": round(compare_s, 2),
            "compare_items": len(ia), "compare_mean_shared": round(float(shared.mean()), 3)}


def measure(n: int, sample: int, with_regions: bool = False) -> dict:
    start = time.perf_counter()
    warm_up()
    warm_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        vectors = on_disk(n, tmp)
        records = [Record(f"id{i}", "image", f"image-{i:06d}.jpg", None, {"group": str(i % 30)}) for i in range(n)]
        rss_before_fit = peak_rss_mb()
        start = time.perf_counter()
        projection = fit([r.id for r in records], vectors, MapParams(sample=sample))
        fit_s = time.perf_counter() - start

        query = synthetic(1, seed=99)[0]
        snapshot = Snapshot(records, vectors)  # as the map overlay places a query: from the runner's cosines
        start = time.perf_counter()
        snapshot.compact  # int8 codes from COMPACT_FROM items: built once per collection version
        codes_s = time.perf_counter() - start
        locate(None, projection.coords, snapshot.cosines(query))
        start = time.perf_counter()
        for _ in range(5):
            locate(None, projection.coords, snapshot.cosines(query))
        place_ms = (time.perf_counter() - start) / 5 * 1000
        start = time.perf_counter()
        for _ in range(5):  # the same placement from one exact float32 product, for comparison
            locate(None, projection.coords, vectors @ query)
        place_float32_ms = (time.perf_counter() - start) / 5 * 1000

        payload = map_figure(projection.coords, records, colour_values(records, "kind")).to_json()
        start = time.perf_counter()
        for field in ("group", "kind", "group"):
            map_figure(projection.coords, records, colour_values(records, field)).to_json()
        interaction_ms = (time.perf_counter() - start) / 3 * 1000
        selection = selection_round(projection.coords, records)
        result = {"n": n, "fit_s": round(fit_s, 2), "place_ms": round(place_ms, 2), "codes_s": round(codes_s, 2),
                  "place_float32_ms": round(place_float32_ms, 2),
                  "payload_bytes": len(payload),
                  "interaction_ms": round(interaction_ms, 1), **selection, "sample": min(n, sample),
                  "labelled_points": n <= LABELLED_UP_TO, "warmup_s": round(warm_s, 1),
                  "peak_rss_mb_before_fit": round(rss_before_fit), "peak_rss_mb": round(peak_rss_mb())}
        return {**result, **regions(records, vectors, projection.coords)} if with_regions else result


def selection_round(coords: np.ndarray, records: list[Record]) -> dict:
    """Server-side work of a box selection over the middle of the map, as the page does it: the selected
    points from the event, the figure again with the box drawn, its JSON, the gallery's first 48 records;
    the CSV (built only when downloaded) timed apart."""
    from types import SimpleNamespace

    from components.map.view import region_from_event, region_shape, selected_indices, selection_csv

    (x0, y0), (x1, y1) = np.percentile(coords[:, :2], [35, 65], axis=0)
    event = SimpleNamespace(selection={"points": [{"x": float(x0), "y": float(y0)}],  # plotly sends every point;
                                       "box": [{"x": [x0, x1], "y": [y0, y1]}]})  # one stands for them here
    start = time.perf_counter()
    picked = selected_indices(event, coords) if len(records) > LABELLED_UP_TO else region_points(
        region_from_event(event), coords)
    fig = map_figure(coords, records, colour_values(records, "group"),
                     selection_shape=region_shape(region_from_event(event)))
    fig.to_json()
    shown = [records[i] for i in picked[:48]]
    selection_ms = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    selection_csv([records[i] for i in picked])
    return {"selection_ms": round(selection_ms, 1), "selected": len(picked), "gallery": len(shown),
            "selection_csv_ms": round((time.perf_counter() - start) * 1000, 1)}


def first_map() -> dict:
    """In this (new) process: open the lab, then time what the Map page does on its first open."""
    start = time.perf_counter()
    from indexing.lab import open_lab
    from indexing.maps.jobs import MapJobs

    lab = open_lab()
    startup_s = time.perf_counter() - start
    start = time.perf_counter()
    records, vectors = lab.vectors()
    jobs, params = MapJobs(lab.settings.data_dir), MapParams()
    projection = jobs.projection(lab.store.name, [r.id for r in records], vectors, params)
    map_figure(projection.coords, records, colour_values(records, "color")).to_json()
    first_map_s = time.perf_counter() - start
    state = jobs.wait(lab.store.name, params)
    umap_ready_s = time.perf_counter() - start
    return {"startup_s": round(startup_s, 2), "first_map_s": round(first_map_s, 2), "first_map": projection.method,
            "umap_ready_s": round(umap_ready_s, 1), "umap_error": state.error if state else "no fit was needed",
            "points": len(records)}


def cold(demo: int) -> dict:
    """Fresh data dir and numba cache; demo world ingested; then two new processes open the map."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "SIMLAB_DATA": f"{tmp}/data", "SIMLAB_MODEL": "simlab-shapes", "HF_HUB_OFFLINE": "1",
               "NUMBA_CACHE_DIR": f"{tmp}/numba"}
        env.pop("SIMLAB_PRETRAINED", None)
        subprocess.run([sys.executable, "-m", "indexing", "demo", "--n", str(demo)], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def child() -> dict:
            out = subprocess.run([sys.executable, "-m", "benchmarks.map", "--first-map"], env=env, check=True,
                                 capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
            return json.loads(out.stdout.strip().splitlines()[-1])

        result = child()
        for path in Path(f"{tmp}/data/maps").glob("*.npz"):
            path.unlink()  # the second process fits again, with numba's cache now filled
        result["umap_ready_warm_cache_s"] = child()["umap_ready_s"]
        return result


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--sample", type=int, default=MapParams().sample)
    p.add_argument("--cold", action="store_true", help="the first map of a fresh install (demo world)")
    p.add_argument("--demo", type=int, default=500, help="demo world size for --cold")
    p.add_argument("--regions", action="store_true", help="also time names, pictures and the two-model comparison")
    p.add_argument("--first-map", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.first_map:
        print(json.dumps(first_map()))
        return
    result = cold(args.demo) if args.cold else measure(args.n, args.sample, args.regions)
    print_figures(result, args.json)


if __name__ == "__main__":
    main()
