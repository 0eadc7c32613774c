"""UMAP maps of a collection: fit once, cache on disk by content, place new points from their neighbours.

``UMAP.transform`` is far too slow for interaction (seconds per call here), so queries and items
ingested after a fit are *placed*: an inverse-distance weighted mean of their nearest fitted
neighbours' coordinates. Large collections are fitted on a sample (after PCA) and the rest placed.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from indexing.core.errors import SimLabError
from indexing.core.ranking import normalise, seeded_sample

CHUNK = 4096  # rows reduced or placed at a time
REFERENCE_CHUNK = 65_536  # reference rows normalised at a time when placing
Say = Callable[[str], None]  # a status line (ingest's progress callbacks count items instead)


class MapError(SimLabError, ValueError):
    """Map parameters that cannot work; the message says which and why."""


@dataclass(frozen=True)
class MapParams:
    """What a map depends on besides the vectors."""

    n_neighbors: int = 15
    min_dist: float = 0.1
    dims: Literal[2, 3] = 2
    sample: int = 10_000  # fit on at most this many items; the rest are placed
    seed: int = 42

    def validate(self) -> None:
        if not 2 <= self.n_neighbors <= 200:
            raise MapError(f"n_neighbors must be between 2 and 200, not {self.n_neighbors}.")
        if not 0.0 <= self.min_dist <= 1.0:
            raise MapError(f"min_dist must be between 0 and 1, not {self.min_dist}.")
        if self.dims not in (2, 3):
            raise MapError(f"dims must be 2 or 3, not {self.dims}.")
        if self.sample < 10:
            raise MapError(f"sample must be at least 10 items, not {self.sample}.")

    def key(self) -> str:
        return "-".join(f"{k}={v}" for k, v in sorted(asdict(self).items()))


@dataclass
class Projection:
    """Coordinates for ``ids``; ``fitted`` marks points UMAP placed itself (the rest were placed by us)."""

    ids: list[str]
    coords: np.ndarray
    fitted: np.ndarray
    params: MapParams
    fit_seconds: float = 0.0
    method: str = "umap"  # "pca": the quick layout shown while UMAP fits

    def __len__(self) -> int:
        return len(self.ids)


def place(queries: np.ndarray, reference: np.ndarray, coords: np.ndarray, k: int = 10) -> np.ndarray:
    """Map coordinates for ``queries`` from their ``k`` most similar ``reference`` vectors.

    A query equal to a reference item lands exactly on it; otherwise the neighbours' coordinates are
    averaged with weights 1 / (1 - cosine)^2, so closer neighbours pull much harder.
    """
    queries = normalise(np.atleast_2d(queries).astype(np.float32))
    if len(reference) == 0:
        return np.zeros((len(queries), coords.shape[1] if coords.ndim == 2 else 2), np.float32)
    sims = np.empty((len(queries), len(reference)), np.float32)
    for start in range(0, len(reference), REFERENCE_CHUNK):  # a (memory-mapped) million is never copied whole
        block = normalise(np.asarray(reference[start:start + REFERENCE_CHUNK], np.float32))
        sims[:, start:start + REFERENCE_CHUNK] = queries @ block.T
    return place_by_scores(sims, coords, k)


def place_by_scores(sims: np.ndarray, coords: np.ndarray, k: int = 10) -> np.ndarray:
    """``place`` from each query's cosines with every reference item (one row per query)."""
    k = min(k, sims.shape[1])
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    top_sims = np.take_along_axis(sims, top, axis=1)
    weights = 1.0 / np.maximum(1.0 - top_sims, 1e-6) ** 2
    placed = (weights[:, :, None] * coords[top]).sum(axis=1) / weights.sum(axis=1, keepdims=True)
    exact = top_sims.max(axis=1) > 1 - 1e-6
    if exact.any():
        best = top[np.arange(len(top)), top_sims.argmax(axis=1)]
        placed[exact] = coords[best[exact]]
    return placed.astype(np.float32)


def _pca(vectors: np.ndarray, dims: int, seed: int, fit_on: np.ndarray | None = None) -> np.ndarray:
    """``vectors`` (normalised) reduced to ``dims`` by a PCA fitted on the rows ``fit_on`` (default all),
    applied in chunks: a million vectors are never copied whole."""
    from sklearn.decomposition import PCA

    fit_on = np.arange(len(vectors)) if fit_on is None else fit_on
    dims = min(dims, len(fit_on), vectors.shape[1])
    pca = PCA(n_components=dims, random_state=seed).fit(normalise(np.asarray(vectors[fit_on], np.float32)))
    out = np.empty((len(vectors), dims), np.float32)
    for start in range(0, len(vectors), CHUNK):
        out[start:start + CHUNK] = pca.transform(normalise(np.asarray(vectors[start:start + CHUNK], np.float32)))
    return out


def preview(ids: list[str], vectors: np.ndarray, params: MapParams = MapParams()) -> Projection:
    """A PCA layout in well under a second: shown while UMAP fits (it needs no compiled code)."""
    params.validate()
    start = time.perf_counter()
    n = len(ids)
    coords = np.zeros((n, params.dims), np.float32)
    if n > 1:
        reduced = _pca(vectors, params.dims, params.seed, seeded_sample(n, params.sample, params.seed))
        coords[:, :reduced.shape[1]] = reduced
    return Projection(list(ids), coords, np.ones(n, bool), params, time.perf_counter() - start, method="pca")


def fit(ids: list[str], vectors: np.ndarray, params: MapParams = MapParams(),
        say: Say | None = None) -> Projection:
    """Fit a map of ``vectors``; small or degenerate inputs get a sensible map instead of an error."""
    params.validate()
    say = say or (lambda _msg: None)
    n = len(ids)
    start = time.perf_counter()
    if n == 0:
        return Projection([], np.zeros((0, params.dims), np.float32), np.zeros(0, bool), params)
    if n <= max(params.dims + 2, 8):
        # Too few points for UMAP's graph: a PCA layout says the same thing honestly.
        coords = np.zeros((n, params.dims), np.float32)
        if n > 1:
            reduced = _pca(vectors, params.dims, params.seed)
            coords[:, :reduced.shape[1]] = reduced
        return Projection(list(ids), coords, np.ones(n, bool), params, time.perf_counter() - start)
    sample = seeded_sample(n, params.sample, params.seed)
    reduce = vectors.shape[1] > 50 and n > 50
    say(f"reducing {n:,} vectors with PCA" if reduce else f"normalising {n:,} vectors")
    reduced = _pca(vectors, 50, params.seed, sample) if reduce else normalise(np.asarray(vectors, np.float32))
    say(f"fitting UMAP on {len(sample):,} items")
    import umap

    reducer = umap.UMAP(n_neighbors=min(params.n_neighbors, len(sample) - 1), min_dist=params.min_dist,
                        n_components=params.dims, metric="euclidean" if reduce else "cosine",
                        random_state=params.seed, init="spectral" if len(sample) > 50 else "random",
                        n_epochs=200, n_jobs=1, low_memory=False)
    coords = np.zeros((n, params.dims), np.float32)
    coords[sample] = reducer.fit_transform(reduced[sample]).astype(np.float32)
    fitted = np.zeros(n, bool)
    fitted[sample] = True
    rest = np.flatnonzero(~fitted)
    if len(rest):
        say(f"placing the other {len(rest):,} items from their neighbours")
        for chunk in np.array_split(rest, max(1, len(rest) // CHUNK)):
            coords[chunk] = place(reduced[chunk], reduced[sample], coords[sample])
    return Projection(list(ids), coords, fitted, params, time.perf_counter() - start)


def extend(projection: Projection, ids: list[str], vectors: np.ndarray) -> Projection:
    """The map for the current ``ids``: known points keep their place, new ones are placed, gone ones dropped."""
    index = {id_: i for i, id_ in enumerate(projection.ids)}
    known = np.array([index.get(i, -1) for i in ids], dtype=np.int64)
    coords = np.zeros((len(ids), projection.params.dims), np.float32)
    fitted = np.zeros(len(ids), bool)
    have = known >= 0
    coords[have] = projection.coords[known[have]]
    fitted[have] = projection.fitted[known[have]]
    if (~have).any() and have.any():
        coords[~have] = place(vectors[~have], vectors[have], coords[have])
    return Projection(list(ids), coords, fitted, projection.params, projection.fit_seconds)


def content_key(ids: list[str]) -> str:
    """A hash of the collection's content (its ids are content hashes)."""
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:24]


class MapCache:
    """Fitted maps on disk under ``<data>/maps``, one file per (collection, parameters)."""

    def __init__(self, data_dir: Path):
        self.root = Path(data_dir) / "maps"

    def _path(self, collection: str, params: MapParams) -> Path:
        digest = hashlib.sha256(f"{collection}|{params.key()}".encode()).hexdigest()[:24]
        return self.root / f"{collection}-{digest}.npz"

    def stamp(self, collection: str, params: MapParams) -> float:
        """The map file's modification time, 0 when there is none."""
        try:
            return self._path(collection, params).stat().st_mtime
        except OSError:
            return 0.0

    def load(self, collection: str, params: MapParams) -> Projection | None:
        path = self._path(collection, params)
        if not path.exists():
            return None
        with np.load(path, allow_pickle=False) as z:
            return Projection([str(i) for i in z["ids"]], z["coords"], z["fitted"], params,
                              float(z["fit_seconds"]))

    def save(self, collection: str, projection: Projection) -> None:
        path = self._path(collection, projection.params)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
        os.close(fd)
        np.savez(tmp, ids=np.array(projection.ids, dtype=str), coords=projection.coords,
                 fitted=projection.fitted, fit_seconds=projection.fit_seconds)
        os.replace(tmp, path)


def get_map(cache: MapCache, collection: str, ids: list[str], vectors: np.ndarray, params: MapParams,
            refit: bool = False, say: Say | None = None) -> tuple[Projection, bool]:
    """The map for the current content: cached (new items placed) unless ``refit``; returns (map, fitted_now)."""
    cached = None if refit else cache.load(collection, params)
    if cached is not None:
        return extend(cached, ids, vectors), False
    projection = fit(ids, vectors, params, say)
    cache.save(collection, projection)
    return projection, True


_warm = threading.Event()


def warm_up() -> None:
    """Compile UMAP's numba code once per process, off the interactive path (idempotent)."""
    if _warm.is_set():
        return
    _warm.set()
    # Above 4,096 points UMAP switches to nearest-neighbour descent: warm that path too, or the first
    # real fit pays for its compilation (about a minute on two cores).
    import umap

    data = np.random.default_rng(0).normal(size=(4500, 8)).astype(np.float32)
    umap.UMAP(n_neighbors=15, n_epochs=5, random_state=0, n_jobs=1, low_memory=False).fit(data)


def locate(item: int | None, coords: np.ndarray, scores: np.ndarray | None) -> np.ndarray:
    """Where a query sits on the map: on its own point for an item query, else placed among its neighbours
    from ``scores``, every item's cosine with the query (``Snapshot.cosines``)."""
    if item is not None:
        return coords[item]
    return place_by_scores(np.asarray(scores, np.float32)[None, :], coords)[0]
