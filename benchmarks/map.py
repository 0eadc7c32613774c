"""Map timings on N synthetic clustered 512-d unit vectors.

    python -m benchmarks.map --n 10000 [--json]

fit_s: time to a ready map (PCA, UMAP on at most `sample` items, the rest placed), after numba warm-up.
place_ms: placing one query and ranking its neighbours. payload_bytes: the figure JSON sent to the browser.
interaction_ms: server-side work of one widget interaction (colour change): categories, figure, JSON.
"""
from __future__ import annotations

import time

import numpy as np

from benchmarks.report import parser, print_figures
from components.map_figure import colour_values, map_figure
from indexing.projection import MapParams, fit, query_on_map, warm_up
from indexing.store import Record


def synthetic(n: int, dim: int = 512, centres: int = 30, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centres, dim)).astype(np.float32)
    v = c[rng.integers(0, centres, n)] + 0.35 * rng.normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def measure(n: int, sample: int) -> dict:
    start = time.perf_counter()
    warm_up()
    warm_s = time.perf_counter() - start
    vectors = synthetic(n)
    records = [Record(f"id{i}", "image", f"image-{i:06d}.jpg", None, {"group": str(i % 30)}) for i in range(n)]
    start = time.perf_counter()
    projection = fit([r.id for r in records], vectors, MapParams(sample=sample))
    fit_s = time.perf_counter() - start

    query = synthetic(1, seed=99)[0]
    query_on_map(query, vectors, projection.coords, 10)
    start = time.perf_counter()
    for _ in range(20):
        query_on_map(query, vectors, projection.coords, 10)
    place_ms = (time.perf_counter() - start) / 20 * 1000

    payload = map_figure(projection.coords, records, colour_values(records, "kind")).to_json()
    start = time.perf_counter()
    for field in ("group", "kind", "group"):
        map_figure(projection.coords, records, colour_values(records, field)).to_json()
    interaction_ms = (time.perf_counter() - start) / 3 * 1000
    return {"n": n, "fit_s": round(fit_s, 2), "place_ms": round(place_ms, 2), "payload_bytes": len(payload),
            "interaction_ms": round(interaction_ms, 1), "sample": min(n, sample), "warmup_s": round(warm_s, 1)}


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--sample", type=int, default=MapParams().sample)
    args = p.parse_args()
    result = measure(args.n, args.sample)
    print_figures(result, args.json)


if __name__ == "__main__":
    main()
