"""Late interaction over region vectors: Chamfer (MaxSim) similarity, and MUVERA's fixed-dimensional encodings
(FDEs) that turn a set of vectors into one whose inner product approximates it.

Chamfer(Q, D) = Σ_q max_d ⟨q, d⟩: every query vector finds its best region of the image. Scoring it exactly
is a (m × n) product per image; an FDE (Dhulipala et al., "MUVERA", arXiv 2405.19504) makes it one
inner product, so an ordinary single-vector search makes a shortlist and exact MaxSim re-ranks it.

For each of ``reps`` repetitions, ``k_sim`` SimHash hyperplanes cut the space into 2^k_sim buckets; a
query's vectors are *summed* per bucket, an image's *averaged* (an empty bucket of the image takes the
vector whose SimHash is nearest in Hamming distance), and each bucket is projected to ``d_proj`` dims by a
random ±1 matrix. dim = reps · 2^k_sim · d_proj. Written here (it is small): the reference code is
google/graph-mining's ``sketching/point_cloud``.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

CHUNK = 4096  # images encoded per block (bounds the temporary arrays to a few hundred MB)


def chamfer(query: np.ndarray, docs: np.ndarray) -> np.ndarray:
    """Σ over query vectors of the max over each image's regions: ``query`` (m, d), ``docs`` (N, n, d) → (N,)."""
    return np.einsum("md,Nnd->Nmn", query, docs, optimize=True).max(axis=2).sum(axis=1)


@dataclass(frozen=True)
class FDE:
    """One fixed-dimensional encoding: the same seeded hyperplanes and projections for queries and images."""

    dim: int  # the region vectors' dimension
    reps: int = 20
    k_sim: int = 3
    d_proj: int = 8
    seed: int = 0

    @property
    def buckets(self) -> int:
        return 2 ** self.k_sim

    @property
    def size(self) -> int:
        """The encoding's length: reps · 2^k_sim · d_proj."""
        return self.reps * self.buckets * self.d_proj

    @cached_property
    def _matrix(self) -> np.ndarray:
        """(dim, reps·k_sim + reps·d_proj): the hyperplanes and the ±1/√d_proj projections, one product."""
        rng = np.random.default_rng(self.seed)
        planes = rng.standard_normal((self.dim, self.reps * self.k_sim)).astype(np.float32)
        signs = rng.choice(np.array([-1.0, 1.0], np.float32), (self.dim, self.reps * self.d_proj))
        return np.hstack([planes, signs / np.sqrt(self.d_proj)]).astype(np.float32)

    @cached_property
    def _hamming(self) -> np.ndarray:
        """(B, B) Hamming distance between bucket ids."""
        ids = np.arange(self.buckets)
        xor = ids[:, None] ^ ids[None, :]
        return np.array([[bin(v).count("1") for v in row] for row in xor], np.int32)

    def _sketch(self, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(…, n, d) → bucket ids (…, reps, n) and projections (…, reps, n, d_proj)."""
        out = tokens @ self._matrix
        bits = out[..., : self.reps * self.k_sim] > 0
        bits = bits.reshape(*bits.shape[:-1], self.reps, self.k_sim)
        ids = (bits * (1 << np.arange(self.k_sim))).sum(-1)  # (…, n, reps)
        proj = out[..., self.reps * self.k_sim:].reshape(*out.shape[:-1], self.reps, self.d_proj)
        return np.moveaxis(ids, -1, -2), np.moveaxis(proj, -2, -3)

    def query(self, tokens: np.ndarray) -> np.ndarray:
        """A query's FDE: its vectors (m, d) summed per bucket."""
        ids, proj = self._sketch(np.asarray(tokens, np.float32))
        onehot = ids[..., None] == np.arange(self.buckets)  # (reps, m, B)
        return np.einsum("rmb,rmp->rbp", onehot.astype(np.float32), proj).reshape(-1)

    def documents(self, tokens: np.ndarray) -> np.ndarray:
        """Images' FDEs: each image's regions (N, n, d) averaged per bucket, an empty bucket filled from the
        region whose SimHash is nearest. (N, size) float32."""
        tokens = np.asarray(tokens, np.float32)
        return np.vstack([self._documents(tokens[i:i + CHUNK]) for i in range(0, len(tokens), CHUNK)]) \
            if len(tokens) else np.zeros((0, self.size), np.float32)

    def _documents(self, tokens: np.ndarray) -> np.ndarray:
        ids, proj = self._sketch(tokens)  # (N, reps, n), (N, reps, n, p)
        onehot = (ids[..., None] == np.arange(self.buckets)).astype(np.float32)  # (N, reps, n, B)
        sums = np.einsum("Nrnb,Nrnp->Nrbp", onehot, proj, optimize=True)
        counts = onehot.sum(axis=2)  # (N, reps, B)
        nearest = self._hamming[:, ids].argmin(axis=-1)  # (B, N, reps): the region nearest each bucket
        nearest = np.moveaxis(nearest, 0, -1)  # (N, reps, B)
        filled = np.take_along_axis(proj, nearest[..., None], axis=2)  # (N, reps, B, p)
        mean = np.where(counts[..., None] > 0, sums / np.maximum(counts, 1)[..., None], filled)
        return mean.reshape(len(tokens), -1)

