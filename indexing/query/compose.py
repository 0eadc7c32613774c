"""Composed image retrieval: a reference image plus a modification text → scores over a gallery.

Pure functions, arrays in and arrays out: every vector is a unit vector, every score a cosine
(or a product of cosines). ``lam`` is the text weight: 0 = image only, 1 = text only.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from indexing.core.errors import InputError
from indexing.core.ranking import normalise
from indexing.query.scoring import ScoreMethod, table

def weighted_sum(image: np.ndarray, text: np.ndarray, lam: float) -> np.ndarray:
    """normalise((1 - λ)·image + λ·text)."""
    return normalise((1.0 - lam) * image + lam * text)


def slerp(image: np.ndarray, text: np.ndarray, lam: float) -> np.ndarray:
    """Spherical interpolation from image (λ=0) to text (λ=1)."""
    cos = float(np.clip(np.dot(image, text), -1.0, 1.0))
    omega = np.arccos(cos)
    if omega < 1e-6:
        return normalise(image)
    return normalise((np.sin((1 - lam) * omega) * image + np.sin(lam * omega) * text) / np.sin(omega))


def score_product(image_scores: np.ndarray, text_scores: np.ndarray) -> np.ndarray:
    """relu(s_image) · relu(s_text) per candidate: both must agree."""
    return np.maximum(image_scores, 0) * np.maximum(text_scores, 0)


_CLAUSE_SPLIT = re.compile(r"\s*(?:;|,\s*and\s+|,\s*|\s+and\s+)\s*", re.IGNORECASE)


def split_clauses(text: str) -> list[str]:
    """'make it blue, and a star; on black' → ['make it blue', 'a star', 'on black']."""
    return [c for c in (p.strip() for p in _CLAUSE_SPLIT.split(text)) if c]


@dataclass
class ComposeInputs:
    """Everything the methods need: the reference and modification vectors and the gallery."""

    image: np.ndarray  # (d,) reference image
    text: np.ndarray  # (d,) whole modification text
    clauses: np.ndarray  # (c, d) one vector per clause (c ≥ 1)
    gallery: np.ndarray  # (n, d)
    lam: float = 0.5


def _scores_sum(x: ComposeInputs) -> np.ndarray:
    return x.gallery @ weighted_sum(x.image, x.text, x.lam)


def _scores_slerp(x: ComposeInputs) -> np.ndarray:
    return x.gallery @ slerp(x.image, x.text, x.lam)


def _scores_product(x: ComposeInputs) -> np.ndarray:
    return score_product(x.gallery @ x.image, x.gallery @ x.text)


def _scores_clauses(x: ComposeInputs) -> np.ndarray:
    # Each clause must hold: the image score times every clause's score (a product over clauses),
    # with the clause scores' geometric mean so many clauses do not drown the image.
    image = np.maximum(x.gallery @ x.image, 0)
    clause = np.maximum(x.gallery @ x.clauses.T, 0)
    return image * np.prod(clause, axis=1) ** (1.0 / clause.shape[1])


METHODS, COMPOSE_METHODS, METHOD_LABELS, SCORE_NAMES = table(
    ScoreMethod("image", "image only", "cosine", lambda x: x.gallery @ x.image),
    ScoreMethod("text", "text only", "cosine", lambda x: x.gallery @ x.text),
    ScoreMethod("sum", "weighted sum", "cosine", _scores_sum),
    ScoreMethod("slerp", "slerp", "cosine", _scores_slerp),
    ScoreMethod("product", "score product", "product of cosines", _scores_product),
    ScoreMethod("clauses", "clause split", "clause score", _scores_clauses),
)


def compose_scores(x: ComposeInputs, methods: tuple[str, ...] = COMPOSE_METHODS) -> dict[str, np.ndarray]:
    """Scores of every gallery item under each method."""
    if not 0.0 <= x.lam <= 1.0:
        raise InputError(f"λ must be between 0 and 1, not {x.lam}.")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise InputError(f"Unknown method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}.")
    return {m: METHODS[m].score(x) for m in methods}
