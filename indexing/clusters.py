"""Clusters of a collection's vectors, each with its size and the items nearest its centre."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Clusters:
    labels: np.ndarray  # (N,) cluster index per item
    sizes: list[int]
    representatives: list[list[int]]  # item indices nearest each centre, best first


def cluster(vectors: np.ndarray, k: int | None = None, seed: int = 0, n_representatives: int = 4) -> Clusters:
    """K-means on unit vectors (k defaults to about sqrt(N/2), between 2 and 20)."""
    n = len(vectors)
    if n == 0:
        return Clusters(np.zeros(0, int), [], [])
    k = k or int(np.clip(round(np.sqrt(n / 2)), 2, 20))
    k = max(1, min(k, n))
    from sklearn.cluster import MiniBatchKMeans

    model = MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=3, batch_size=2048).fit(vectors)
    labels = model.labels_.astype(int)
    distances = np.linalg.norm(vectors - model.cluster_centers_[labels], axis=1)
    sizes, reps = [], []
    for c in range(k):
        members = np.flatnonzero(labels == c)
        sizes.append(int(len(members)))
        reps.append(members[np.argsort(distances[members])][:n_representatives].tolist())
    return Clusters(labels, sizes, reps)
