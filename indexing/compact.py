"""Compact copies of a collection's vectors for search at scale: int8 codes, re-ranked at full precision.

Each dimension is scaled by its largest magnitude into int8 (one byte per number: a quarter of float32,
plus one float per dimension for the whole collection). A query is scaled the same way and scored against
every code with an int8 matrix product (``torch._int_mm``, int32 accumulation); the best ``shortlist`` are
then re-scored exactly from the full float32 vectors, which can stay on disk (a memory map) or in Chroma,
since only a shortlist is ever read. The full vectors remain the source of truth.
"""
from __future__ import annotations

import numpy as np
import torch

from indexing.ranking import rank


class Int8Vectors:
    """Symmetric per-dimension int8 scalar quantisation of unit vectors."""

    def __init__(self, vectors: np.ndarray):
        vectors = np.asarray(vectors, np.float32)
        peak = np.abs(vectors).max(axis=0) if len(vectors) else np.ones(vectors.shape[1], np.float32)
        self.scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
        self.dim = vectors.shape[1]
        self.codes = torch.from_numpy(np.clip(np.rint(vectors / self.scale), -127, 127).astype(np.int8))

    @property
    def nbytes(self) -> int:
        return self.codes.numel() + self.scale.nbytes

    def approximate(self, query: np.ndarray) -> np.ndarray:
        """Scores proportional to the cosine with every vector (up to quantisation error)."""
        q = np.asarray(query, np.float32) * self.scale  # the codes' scale moves onto the query
        step = max(float(np.abs(q).max()) / 127.0, 1e-12)
        q8 = torch.from_numpy(np.clip(np.rint(q / step), -127, 127).astype(np.int8))
        if len(self.codes) > 16 and self.dim % 8 == 0:
            padded = torch.zeros(self.dim, 8, dtype=torch.int8)
            padded[:, 0] = q8
            return torch._int_mm(self.codes, padded)[:, 0].numpy().astype(np.float32)
        return (self.codes.float() @ q8.float()).numpy()  # small or odd-sized collections: plain float product


def search(compact: Int8Vectors, full: np.ndarray, query: np.ndarray, k: int = 10,
           shortlist: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Top ``k`` (indices, exact cosines): int8 scores pick ``shortlist`` candidates, full vectors rank them."""
    candidates = rank(compact.approximate(query), max(shortlist, k))
    exact = np.asarray(full[np.sort(candidates)], np.float32) @ np.asarray(query, np.float32)
    order = np.sort(candidates)
    best = rank(exact, k)
    return order[best], exact[best]
