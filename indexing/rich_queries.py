"""Composed and conditional queries over a whole collection, with every method side by side.

Vectors are fetched once per collection version (``Lab.vectors``) and ranked in numpy, so each
interaction is a few matrix products, not a round trip per method.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from indexing.compose import (COMPOSE_METHODS, ComposeInputs, compose_scores, rank, ranks_of, split_clauses,
                              weighted_sum)
from indexing.condition import (VOCABULARY, Condition, ConditionInputs, condition_scores, methods_for,
                                parse_condition, text_basis)
from indexing.encoder import Encoder
from indexing.media import decode_image
from indexing.search import QueryError
from indexing.store import Record


@dataclass
class Reference:
    """The reference: an item of the collection (by id) or uploaded image bytes."""

    item: str | None = None
    image: bytes | None = None


@dataclass
class MethodResult:
    method: str
    top: list[int]  # indices into the collection, best first
    scores: list[float]


@dataclass
class RichResult:
    """Top-k per method, each item's rank under every method, and the reference's own index."""

    results: dict[str, MethodResult]
    ranks: dict[str, np.ndarray]  # method → 1-based rank of every item
    reference_index: int | None
    query_vector: np.ndarray | None = None  # the main method's query vector, for the map overlay
    notes: list[str] = field(default_factory=list)


def reference_vector(ref: Reference, encoder: Encoder, records: list[Record],
                     vectors: np.ndarray) -> tuple[np.ndarray, int | None]:
    """The reference's unit vector and, when it is an item, its index (so it can be excluded)."""
    if ref.item:
        ids = [r.id for r in records]
        if ref.item not in ids:
            raise QueryError(f"No item {ref.item!r} in this collection; pick one from the list.")
        i = ids.index(ref.item)
        if records[i].kind != "image":
            raise QueryError("The reference must be an image; this item is a text. Pick an image item.")
        return vectors[i], i
    if ref.image:
        return encoder.encode_images([decode_image(ref.image, encoder.image_size)])[0], None
    raise QueryError("Choose a reference image: upload one or pick an item.")


def _only_images(scores: np.ndarray, records: list[Record]) -> np.ndarray:
    kinds = np.array([r.kind == "image" for r in records])
    return np.where(kinds, scores, -np.inf)


def _result(scores: dict[str, np.ndarray], k: int, exclude: int | None) -> tuple[dict, dict]:
    results, ranks = {}, {}
    for method, s in scores.items():
        top = rank(s, k, exclude)
        top = top[np.isfinite(s[top]) & (top != exclude)]  # k may reach past the images into -inf
        results[method] = MethodResult(method, top.tolist(), [float(s[i]) for i in top])
        ranks[method] = ranks_of(s, exclude)
    return results, ranks


def compose(ref: Reference, modification: str, encoder: Encoder, records: list[Record], vectors: np.ndarray,
            lam: float = 0.5, methods: tuple[str, ...] = COMPOSE_METHODS, k: int = 12) -> RichResult:
    """Rank the collection's images for reference + modification under each method."""
    if not modification.strip():
        raise QueryError("The modification text is empty; say what should change, e.g. 'make it blue'.")
    if not 0.0 <= lam <= 1.0:
        raise QueryError(f"λ must be between 0 and 1, not {lam}.")
    if len(vectors) == 0:
        raise QueryError("The collection is empty; add images on the Ingest page first.")
    image, ref_index = reference_vector(ref, encoder, records, vectors)
    text = encoder.encode_texts([modification.strip()])[0]
    clauses_text = split_clauses(modification) or [modification.strip()]
    clauses = encoder.encode_texts(clauses_text)
    x = ComposeInputs(image, text, clauses, vectors, lam)
    scores = {m: _only_images(s, records) for m, s in compose_scores(x, methods).items()}
    results, ranks = _result(scores, k, ref_index)
    notes = [] if len(clauses_text) > 1 else ["one clause only: clause split scores exactly like the score product"]
    if lam in (0.0, 1.0):
        notes.append(f"λ = {lam:g}: the weighted sum is the {'image' if lam == 0 else 'text'}-only query")
    return RichResult(results, ranks, ref_index, weighted_sum(image, text, lam), notes)


def condition(ref: Reference, condition_text: str, encoder: Encoder, records: list[Record], vectors: np.ndarray,
              vocabulary: dict[str, list[str]] = VOCABULARY, k: int = 12) -> tuple[Condition, RichResult]:
    """Rank the collection's images by similarity to the reference under a condition, per method."""
    cond = parse_condition(condition_text, vocabulary)
    if len(vectors) == 0:
        raise QueryError("The collection is empty; add images on the Ingest page first.")
    reference, ref_index = reference_vector(ref, encoder, records, vectors)
    cond_vec = encoder.encode_texts([cond.text])[0]
    basis = text_basis(encoder.encode_texts(list(cond.values))) if cond.values else None
    value_vec = cond_vec if cond.kind == "change" else None
    x = ConditionInputs(reference, cond_vec, vectors, basis, value_vec)
    methods = methods_for(cond)
    scores = {m: _only_images(s, records) for m, s in condition_scores(x, methods).items()}
    results, ranks = _result(scores, k, ref_index)
    return cond, RichResult(results, ranks, ref_index, reference)
