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
from indexing.compose import COMPOSE_METHODS, ComposeInputs, compose_scores, split_clauses
from indexing.ranking import rank
from indexing.condition import ConditionInputs, condition_scores, text_basis
from indexing.encoder import Encoder
from indexing.errors import InputError


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
    """``ranked_hits[q, r]`` is True where query q's rank-r result is relevant → R@k (any hit in top k).

    With no queries at all (a gallery too small for the task) every value is None, not a made-up number."""
    if len(ranked_hits) == 0:
        return {f"R@{k}": None for k in ks}
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


def _by_attributes(w: TestWorld) -> dict[tuple, int]:
    return {tuple(it.attributes[k] for k in world.ATTRIBUTES): i for i, it in enumerate(w.combos)}


def task_cir(w: TestWorld, n_queries: int = 300, lam: float = 0.5) -> dict:
    """Reference + modification of one attribute → the combination equal in every other attribute."""
    rng = random.Random(w.seed + 2)
    index = _by_attributes(w)
    refs, targets, texts = [], [], []
    for _ in range(n_queries * 20):
        if len(refs) == n_queries:
            break
        ref = rng.randrange(len(w.combos))
        attrs = w.combos[ref].attributes
        key = rng.choice(list(world.ATTRIBUTES))
        value = rng.choice([v for v in world.ATTRIBUTES[key] if v != attrs[key]])
        target = index.get(tuple({**attrs, key: value}[k] for k in world.ATTRIBUTES))
        if target is None:  # a partial gallery may lack the target: not a query
            continue
        refs.append(ref)
        targets.append(target)
        texts.append(world.modification_text(key, value))
    text_vecs = w.encoder.encode_texts(texts)
    out: dict[str, list] = {m: [] for m in COMPOSE_METHODS}
    for ref, target, text, tv in zip(refs, targets, texts, text_vecs):
        clauses = w.encoder.encode_texts(split_clauses(text) or [text])
        x = ComposeInputs(w.image_vectors[ref], tv, clauses, w.image_vectors, lam)
        for method, scores in compose_scores(x).items():
            out[method].append(rank(scores, 10, exclude=ref) == target)
    return {m: recall_at(_pad(hits, 10), (1, 5, 10)) for m, hits in out.items()}


def _pad(rows: list[np.ndarray], depth: int) -> np.ndarray:
    return np.array([np.pad(r, (0, depth - len(r))) for r in rows], dtype=bool).reshape(len(rows), depth)


def _genecis_gallery(w: TestWorld, rng: random.Random, ref: int, key: str, change_to: str | None,
                     size: int = 15) -> tuple[int, list[int]] | None:
    """A target and distractors for one reference, as in GeneCIS.

    focus (change_to None): the target shares the reference's value of ``key`` and differs elsewhere;
    distractors share other attributes with the reference but not that value.
    change: the target has ``change_to`` and keeps every other attribute; distractors either keep the
    reference's value or take the new value while changing something else.
    """
    ref_attrs = w.combos[ref].attributes
    others = [k for k in world.ATTRIBUTES if k != key]
    if change_to is None:
        targets = [i for i, it in enumerate(w.combos) if i != ref and it.attributes[key] == ref_attrs[key]
                   and sum(it.attributes[k] == ref_attrs[k] for k in others) <= 1]
        distractors = [i for i, it in enumerate(w.combos) if it.attributes[key] != ref_attrs[key]
                       and sum(it.attributes[k] == ref_attrs[k] for k in others) >= 3]
    else:
        want = {**ref_attrs, key: change_to}
        targets = [i for i, it in enumerate(w.combos) if it.attributes == want]
        distractors = [i for i, it in enumerate(w.combos) if i != ref and (
            (it.attributes[key] == ref_attrs[key] and sum(it.attributes[k] == ref_attrs[k] for k in others) >= 3)
            or (it.attributes[key] == change_to and sum(it.attributes[k] == ref_attrs[k] for k in others) == 2))]
    if not targets or len(distractors) < size - 1:
        return None
    return rng.choice(targets), rng.sample(distractors, size - 1)


def _conditional_task(w: TestWorld, change: bool, n_queries: int = 300) -> dict:
    rng = random.Random(w.seed + (4 if change else 3))
    enc = w.encoder
    basis_cache: dict[str, np.ndarray] = {}
    methods = ("image", "sum", "basis", "product") if change else ("image", "sum", "basis")
    hits: dict[str, list] = {m: [] for m in methods}
    tries = 0
    while len(hits["image"]) < n_queries and tries < n_queries * 5:
        tries += 1
        ref = rng.randrange(len(w.combos))
        key = rng.choice(list(world.ATTRIBUTES))
        value = rng.choice([v for v in world.ATTRIBUTES[key] if v != w.combos[ref].attributes[key]]) if change else None
        picked = _genecis_gallery(w, rng, ref, key, value)
        if picked is None:
            continue
        target, distractors = picked
        gallery = [target] + distractors
        if key not in basis_cache:
            basis_cache[key] = text_basis(enc.encode_texts(_value_words(key)))
        cond_text = world.modification_text(key, value) if change else key
        cond_vec = enc.encode_texts([cond_text])[0]
        value_vec = enc.encode_texts([_value_words(key)[list(world.ATTRIBUTES[key]).index(value)]])[0] if change else None
        x = ConditionInputs(w.image_vectors[ref], cond_vec, w.image_vectors[gallery], basis_cache[key], value_vec)
        for method, scores in condition_scores(x, methods).items():
            hits[method].append(rank(scores, 3) == 0)
    return {m: recall_at(_pad(h, 3), (1, 2, 3)) for m, h in hits.items()}


def _value_words(key: str) -> list[str]:
    """The world's values of ``key`` as the words a user would type (positions as in captions)."""
    if key == "background":
        return [f"a {v} background" for v in world.ATTRIBUTES[key]]
    if key == "position":
        return ["in the center" if v == "center" else v for v in world.ATTRIBUTES[key]]
    return list(world.ATTRIBUTES[key])


def task_focus_attribute(w: TestWorld) -> dict:
    """Reference + attribute type → the one gallery item sharing that attribute's value (GeneCIS focus)."""
    return _conditional_task(w, change=False)


def task_change_attribute(w: TestWorld) -> dict:
    """Reference + new value → the item with that value that keeps the others (GeneCIS change)."""
    return _conditional_task(w, change=True)


TASKS: dict[str, Callable[[TestWorld], dict]] = {
    "t2i": task_t2i,
    "i2t": task_i2t,
    "t2i_partial": task_t2i_partial,
    "cir": task_cir,
    "focus_attribute": task_focus_attribute,
    "change_attribute": task_change_attribute,
}


def parse_tasks(spec: str) -> list[str]:
    """``all`` or a comma-separated list of task names, validated."""
    names = list(TASKS) if spec.strip() in {"", "all"} else [t.strip() for t in spec.split(",") if t.strip()]
    unknown = [t for t in names if t not in TASKS]
    if unknown:
        raise InputError(f"Unknown task(s) {', '.join(unknown)}; choose from {', '.join(TASKS)} or 'all'.")
    return names


def evaluate(encoder: Encoder, world_name: str = "shapes", seed: int = world.DEFAULT_EVAL_SEED,
             tasks: str = "all", combos: list[world.WorldItem] | None = None) -> dict:
    """Run the selected tasks on a test world rendered from ``seed`` (refused if it is a training seed)."""
    if world_name != "shapes":
        raise InputError(f"Unknown world {world_name!r}; only 'shapes' exists.")
    if seed in world.TRAIN_SEEDS:
        raise InputError(f"Seed {seed} is reserved for training (seeds {world.TRAIN_SEEDS.start}–"
                         f"{world.TRAIN_SEEDS.stop - 1}); evaluate on a seed outside that range.")
    names = parse_tasks(tasks)
    w = TestWorld(encoder, seed, combos if combos is not None else world.combination_world(seed))
    return {name: TASKS[name](w) for name in names}
