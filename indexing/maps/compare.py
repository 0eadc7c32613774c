"""Two models on the same items: re-encode one model's stored items under another, and measure how much
their neighbourhoods agree.

Item ids are content hashes, so an item has the same id in every model's collection; re-encoding reads
the stored originals (images) and texts back, with their metadata, through the ordinary ingest plan.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from indexing.store.blobs import Blobs
from indexing.core.ranking import seeded_sample
from indexing.ingest.sources import Failure, PendingImage, PendingText, Plan
from indexing.store.chroma import Record

AGREEMENT_K = 10
MAX_COMPARED = 20_000  # beyond this many shared items, a seeded sample is compared (neighbours within it)
CELLS = 1 << 24  # scores held at once while searching: rows per chunk = CELLS / N (64 MB of float32)


def reencode_plan(records: Sequence[Record], blobs: Blobs, origin: str) -> Plan:
    """An ingest plan of every stored item of ``records`` (``origin`` names the collection they came from);
    an image whose original is gone is a failure of the plan, not of the whole run."""
    plan = Plan()
    for r in records:
        source = f"{origin}/{r.name or r.id}"
        if r.kind == "text":
            plan.items.append(PendingText(source, r.name, r.text or "", dict(r.metadata)))
            continue
        path = blobs.original_path(r.id)
        if path is None:
            plan.failures.append(Failure(source, "its original is no longer stored; ingest the file again"))
        else:
            plan.items.append(PendingImage(source, r.name, path.read_bytes, dict(r.metadata)))
    return plan


def aligned(records_a: Sequence[Record], records_b: Sequence[Record]) -> tuple[np.ndarray, np.ndarray]:
    """Indices into A and into B of the items both collections hold, in A's order."""
    in_b = {r.id: j for j, r in enumerate(records_b)}
    pairs = [(i, in_b[r.id]) for i, r in enumerate(records_a) if r.id in in_b]
    a, b = zip(*pairs) if pairs else ((), ())
    return np.array(a, dtype=np.int64), np.array(b, dtype=np.int64)


def nearest(vectors: np.ndarray, k: int) -> np.ndarray:
    """Each item's ``k`` nearest other items (exact cosine on unit vectors, in chunks), (N, k)."""
    n = len(vectors)
    k = min(k, n - 1)
    out = np.zeros((n, max(k, 0)), dtype=np.int64)
    if k <= 0:
        return out
    chunk = max(1, CELLS // n)
    for start in range(0, n, chunk):
        scores = vectors[start:start + chunk] @ vectors.T
        rows = np.arange(scores.shape[0])
        scores[rows, start + rows] = -np.inf  # never one's own neighbour
        out[start:start + chunk] = np.argpartition(scores, n - k, axis=1)[:, n - k:]
    return out


def sample(ia: np.ndarray, ib: np.ndarray, limit: int = MAX_COMPARED, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """At most ``limit`` aligned pairs (a seeded sample, in order), so a comparison stays seconds, not minutes."""
    keep = seeded_sample(len(ia), limit, seed)
    return ia[keep], ib[keep]


def knn_agreement(vectors_a: np.ndarray, vectors_b: np.ndarray, k: int = AGREEMENT_K) -> np.ndarray:
    """Per item (rows aligned between A and B): the share of its k nearest neighbours the two models share."""
    if len(vectors_a) != len(vectors_b):
        raise ValueError("Align the two collections first (compare.aligned): their rows must be the same items.")
    a, b = nearest(vectors_a, k), nearest(vectors_b, k)
    if a.shape[1] == 0:
        return np.zeros(len(vectors_a), np.float32)
    return np.array([len(set(x) & set(y)) / a.shape[1] for x, y in zip(a.tolist(), b.tolist())], np.float32)
