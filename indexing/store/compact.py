"""Compact copies of a collection's vectors for search at scale: int8 codes, re-ranked at full precision.

Each dimension is scaled by its largest magnitude into int8 (one byte per number: a quarter of float32,
plus one float per dimension for the whole collection). A query is scaled the same way and scored against
every code with an int8 matrix product (``torch._int_mm``, int32 accumulation); the best ``shortlist`` are
then re-scored exactly from the full float32 vectors, which can stay on disk (a memory map) or in Chroma,
since only a shortlist is ever read. The full vectors remain the source of truth.

The query runner searches this way above ``query_runner.COMPACT_FROM`` items (``Snapshot.cosines``).
"""
from __future__ import annotations

import numpy as np
import torch

from indexing.core.ranking import keep_only, rank

CHUNK = 65_536  # rows quantised at a time: a (memory-mapped) million is never copied whole as float32


class Int8Vectors:
    """Symmetric per-dimension int8 scalar quantisation of unit vectors."""

    def __init__(self, vectors: np.ndarray):
        n, self.dim = vectors.shape
        peak = np.zeros(self.dim, np.float32)
        for start in range(0, n, CHUNK):
            peak = np.maximum(peak, np.abs(np.asarray(vectors[start:start + CHUNK], np.float32)).max(axis=0))
        self.scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
        codes = np.empty((n, self.dim), np.int8)
        for start in range(0, n, CHUNK):
            block = np.asarray(vectors[start:start + CHUNK], np.float32) / self.scale
            codes[start:start + CHUNK] = np.clip(np.rint(block), -127, 127)
        self.codes = torch.from_numpy(codes)

    @property
    def nbytes(self) -> int:
        return self.codes.numel() + self.scale.nbytes

    def approximate(self, query: np.ndarray) -> np.ndarray:
        """Every vector's cosine with the unit vector ``query``, estimated from the codes (within quantisation
        error)."""
        q = np.asarray(query, np.float32) * self.scale  # the codes' scale moves onto the query
        step = max(float(np.abs(q).max()) / 127.0, 1e-12)
        q8 = torch.from_numpy(np.clip(np.rint(q / step), -127, 127).astype(np.int8))
        if len(self.codes) > 16 and self.dim % 8 == 0:
            padded = torch.zeros(self.dim, 8, dtype=torch.int8)
            padded[:, 0] = q8
            products = torch._int_mm(self.codes, padded)[:, 0].to(torch.float32)
        else:  # small or odd-sized collections: plain float product
            products = self.codes.float() @ q8.float()
        return products.mul_(step).numpy()


def cosines(compact: Int8Vectors, full: np.ndarray, query: np.ndarray, shortlist: int,
            allowed: np.ndarray | None = None) -> np.ndarray:
    """Every item's cosine with ``query`` (-inf outside the mask ``allowed``): int8 estimates pick the best
    ``shortlist``, which are re-scored exactly from ``full`` (only those rows are read). The other items keep
    their estimates, capped just below the lowest exact score of the shortlist, so a top-k of up to
    ``shortlist`` is always exact cosines in exact order."""
    query = np.asarray(query, np.float32)
    scores = keep_only(compact.approximate(query), allowed)
    eligible = None if allowed is None else np.flatnonzero(allowed)
    if eligible is not None and len(eligible) <= shortlist:  # a narrow filter: every allowed item is exact
        candidates = eligible
    else:
        candidates = np.sort(rank(scores, shortlist))
    if not len(candidates):
        return scores
    exact = np.asarray(full[candidates], np.float32) @ query
    np.minimum(scores, np.nextafter(exact.min(), np.float32(-np.inf)), out=scores)
    scores[candidates] = exact
    return scores


def search(compact: Int8Vectors, full: np.ndarray, query: np.ndarray, k: int = 10,
           shortlist: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Top ``k`` (indices, exact cosines): int8 scores pick ``shortlist`` candidates, full vectors rank them."""
    scores = cosines(compact, full, query, max(shortlist, k))
    best = rank(scores, k)
    return best, scores[best]
