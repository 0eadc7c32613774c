"""Time to explain one result: a "Why?" heatmap per method and model, on this machine.

    python -m benchmarks.explain [--models simlab-shapes,ViT-B-32] [--repeat 5] [--json]

For each model (ViT-B-32 with random weights where its pretrained ones are not cached: the time is the
same) and method: median milliseconds for one heatmap of a 512 px image, computed as a card's "Why?"
does (``indexing.model.explain.heatmap``), after one warm-up.
"""
from __future__ import annotations

import statistics
import time

import torch

from benchmarks.report import parser, print_figures
from indexing.model import explain
from indexing.shapes import world
from indexing.model.encoder import Encoder
from indexing.model.zoo import resolve_model


def median_ms(fn, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 1)


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--models", default="simlab-shapes,ViT-B-32")
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args()
    image = world.pair_world(1, 2_000_001, size=512)[0].image
    result: dict = {"torch_threads": torch.get_num_threads()}
    for name in args.models.split(","):
        spec = resolve_model(name, None if name == "simlab-shapes" else "none")
        encoder = Encoder(spec)
        target = encoder.encode_texts(["a red circle"])[0]
        for method in explain.METHODS:
            if method == "dense" and not explain.dense_method_available(encoder):
                continue
            result[f"{name}_{method}_ms"] = median_ms(lambda: explain.heatmap(encoder, image, target, method),
                                                      args.repeat)
    print_figures(result, args.json)


if __name__ == "__main__":
    main()
