"""Retrieval evaluation on a freshly rendered shapes world: task → method → metric → value.

Tasks are registered in ``TASKS``; each takes the encoder and a ``TestWorld`` and returns
``{method: {metric: value}}``. Later tasks (composed, conditional) plug in the same way.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from indexing import world
from indexing.encoder import Encoder


@dataclass
class TestWorld:
    """A test world rendered from one seed (never a training seed), encoded lazily once."""

    encoder: Encoder
    seed: int
    combos: list[world.WorldItem]

    @cached_property
    def image_vectors(self) -> np.ndarray:
        return self.encoder.encode_images([it.image for it in self.combos])

    @cached_property
    def full_captions(self) -> list[str]:
        return [world.full_caption(it.attributes) for it in self.combos]

    @cached_property
    def caption_vectors(self) -> np.ndarray:
        return self.encoder.encode_texts(self.full_captions)


def recall_at(ranked_hits: np.ndarray, ks: tuple[int, ...]) -> dict[str, float]:
    """``ranked_hits[q, r]`` is True where query q's rank-r result is relevant → R@k (any hit in top k)."""
    return {f"R@{k}": round(float(ranked_hits[:, :k].any(axis=1).mean()), 4) for k in ks}


def _ranked(query_vecs: np.ndarray, gallery_vecs: np.ndarray, depth: int) -> np.ndarray:
    scores = query_vecs @ gallery_vecs.T
    return np.argsort(-scores, axis=1, kind="stable")[:, :depth]


def task_t2i(w: TestWorld) -> dict:
    """Full caption → its own image among one render of every combination."""
    order = _ranked(w.caption_vectors, w.image_vectors, 5)
    hits = order == np.arange(len(w.combos))[:, None]
    return {"clip": recall_at(hits, (1, 5))}


def task_i2t(w: TestWorld) -> dict:
    """Image → its full caption among all full captions."""
    order = _ranked(w.image_vectors, w.caption_vectors, 5)
    hits = order == np.arange(len(w.combos))[:, None]
    return {"clip": recall_at(hits, (1, 5))}


def task_t2i_partial(w: TestWorld, n_queries: int = 400) -> dict:
    """Partial caption → any image matching every attribute it names."""
    rng = random.Random(w.seed + 1)
    queries: list[tuple[str, dict[str, str]]] = []
    for _ in range(n_queries):
        attrs = rng.choice(w.combos).attributes
        template = rng.choice(world.PARTIAL_TEMPLATES)
        text = world.partial_captions(attrs)[world.PARTIAL_TEMPLATES.index(template)]
        queries.append((text, {k: attrs[k] for k in world.template_keys(template)}))
    order = _ranked(w.encoder.encode_texts([q for q, _ in queries]), w.image_vectors, 5)
    gallery = [it.attributes for it in w.combos]
    hits = np.array([[all(gallery[j][k] == v for k, v in named.items()) for j in row]
                     for row, (_, named) in zip(order, queries)])
    return {"clip": recall_at(hits, (1, 5))}


TASKS: dict[str, Callable[[TestWorld], dict]] = {
    "t2i": task_t2i,
    "i2t": task_i2t,
    "t2i_partial": task_t2i_partial,
}


def parse_tasks(spec: str) -> list[str]:
    """``all`` or a comma-separated list of task names, validated."""
    names = list(TASKS) if spec.strip() in {"", "all"} else [t.strip() for t in spec.split(",") if t.strip()]
    unknown = [t for t in names if t not in TASKS]
    if unknown:
        raise ValueError(f"Unknown task(s) {', '.join(unknown)}; choose from {', '.join(TASKS)} or 'all'.")
    return names


def evaluate(encoder: Encoder, world_name: str = "shapes", seed: int = world.DEFAULT_EVAL_SEED,
             tasks: str = "all", combos: list[world.WorldItem] | None = None) -> dict:
    """Run the selected tasks on a test world rendered from ``seed`` (refused if it is a training seed)."""
    if world_name != "shapes":
        raise ValueError(f"Unknown world {world_name!r}; only 'shapes' exists.")
    if seed in world.TRAIN_SEEDS:
        raise ValueError(f"Seed {seed} is reserved for training (seeds {world.TRAIN_SEEDS.start}–"
                         f"{world.TRAIN_SEEDS.stop - 1}); evaluate on a seed outside that range.")
    names = parse_tasks(tasks)
    w = TestWorld(encoder, seed, combos if combos is not None else world.combination_world(seed))
    return {name: TASKS[name](w) for name in names}
