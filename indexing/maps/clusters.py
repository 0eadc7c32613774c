"""Clusters of a collection's vectors, each with its size and the items nearest its centre."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from indexing.core.ranking import seeded_sample

FIT_SAMPLE = 100_000  # k-means sees at most this many items; 20 centres are well placed long before that
CHUNK = 50_000

@dataclass
class Clusters:
    labels: np.ndarray  # (N,) cluster index per item
    sizes: list[int]
    representatives: list[list[int]]  # item indices nearest each centre, best first


def cluster(vectors: np.ndarray, k: int | None = None, seed: int = 0, n_representatives: int = 4) -> Clusters:
    """K-means on unit vectors (k defaults to about sqrt(N/2), between 2 and 20), fitted on at most
    ``FIT_SAMPLE`` of them (seeded), every item then assigned to its nearest centre."""
    n = len(vectors)
    if n == 0:
        return Clusters(np.zeros(0, int), [], [])
    k = k or int(np.clip(round(np.sqrt(n / 2)), 2, 20))
    k = max(1, min(k, n))
    from sklearn.cluster import MiniBatchKMeans

    model = MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=3, batch_size=2048).fit(
        np.asarray(vectors[seeded_sample(n, FIT_SAMPLE, seed)], np.float32))
    labels, distances = np.empty(n, int), np.empty(n, np.float32)
    for start in range(0, n, CHUNK):  # no full-size temporaries at a million vectors
        block = np.asarray(vectors[start:start + CHUNK], np.float32)
        labels[start:start + CHUNK] = model.predict(block)
        distances[start:start + CHUNK] = np.linalg.norm(block - model.cluster_centers_[labels[start:start + CHUNK]],
                                                        axis=1)
    sizes, reps = [], []
    for c in range(k):
        members = np.flatnonzero(labels == c)
        sizes.append(int(len(members)))
        reps.append(members[np.argsort(distances[members])][:n_representatives].tolist())
    return Clusters(labels, sizes, reps)
