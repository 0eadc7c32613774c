"""Array helpers every query method shares: unit vectors, exact top-k with exclusions, ranks.

Pure functions over numpy arrays (scores are cosines or products of cosines; ``-inf`` marks an item a
query may not return)."""
from __future__ import annotations

import numpy as np


def seeded_sample(n: int, limit: int, seed: int) -> np.ndarray:
    """Indices of at most ``limit`` of ``n`` rows, in order: all of them, or a sample fixed by ``seed``."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, limit, replace=False))


def normalise(v: np.ndarray) -> np.ndarray:
    """Unit vectors along the last axis (a zero vector stays zero)."""
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n == 0, 1, n)


def rank(scores: np.ndarray, k: int, exclude: int | None = None) -> np.ndarray:
    """Indices of the ``k`` best scores, best first, ties in index order whatever ``k`` (so the first 12 of
    a depth-100 ranking are the top 12), never ``exclude``."""
    scores = scores.astype(np.float64, copy=True)
    if exclude is not None:
        scores[exclude] = -np.inf
    k = min(k, len(scores) - (exclude is not None))
    if k <= 0:
        return np.zeros(0, int)
    kth = np.partition(-scores, k - 1)[k - 1]
    if kth == np.inf:  # fewer than k finite scores (a narrow filter): the -inf items follow in index order,
        finite = np.flatnonzero(scores > -np.inf)  # without sorting every item of a large collection
        head = finite[np.lexsort((finite, -scores[finite]))]
        return np.concatenate([head, np.flatnonzero(scores == -np.inf)[:k - len(head)]])
    candidates = np.flatnonzero(-scores <= kth)  # every item scoring at least the k-th best
    return candidates[np.lexsort((candidates, -scores[candidates]))][:k]


def top_k(scores: np.ndarray, k: int, exclude: int | None = None) -> list[int]:
    """Indices of the ``k`` best *finite* scores, best first: items masked with -inf, and ``exclude``, are
    never returned (``k`` may reach past every eligible item)."""
    return [int(i) for i in rank(scores, k, exclude) if np.isfinite(scores[i]) and i != exclude]


def ranks_of(scores: np.ndarray, exclude: int | None = None) -> np.ndarray:
    """1-based rank of every item under ``scores`` (the excluded item ranks last)."""
    s = scores.astype(np.float64, copy=True)
    if exclude is not None:
        s[exclude] = -np.inf
    order = np.argsort(-s, kind="stable")
    out = np.empty(len(s), int)
    out[order] = np.arange(1, len(s) + 1)
    return out


def keep_only(scores: np.ndarray, allowed: np.ndarray | None) -> np.ndarray:
    """``scores`` with every item outside the boolean mask ``allowed`` set to -inf (None: all allowed)."""
    return scores if allowed is None else np.where(allowed, scores, -np.inf)
