"""UMAP fits in background processes, so a map page never waits on numba's compiler.

A fresh machine compiles UMAP's numba code on its first fit (half a minute to two on two cores). A page
asks ``MapJobs.projection``: with no fitted map yet it starts a child process that fits and writes the map
to ``MapCache``, and returns ``projection.preview`` (PCA, instant); the page swaps when the file appears. Numba's on-disk cache
lives in a writable folder, so later processes reuse what it could cache.
"""
from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from indexing.maps.projection import MapCache, MapParams, Projection, extend, get_map, preview
from indexing.store.vector_files import load

NUMBA_CACHE = Path(os.environ.get("NUMBA_CACHE_DIR") or Path.home() / ".cache" / "simlab" / "numba")
_CHILDREN: list[tuple[subprocess.Popen, Path]] = []  # every fit this process started, so none outlives it


def stop_all() -> None:
    """End every fit still running (at exit, and between tests), and remove its input file."""
    for proc, job in _CHILDREN:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        job.unlink(missing_ok=True)
        job.with_suffix(".vectors.npy").unlink(missing_ok=True)
    _CHILDREN.clear()


atexit.register(stop_all)


@dataclass
class JobState:
    """What a page needs to know about one fit: running, done, or failed with a one-line reason."""

    running: bool
    error: str = ""
    started: float = 0.0


class MapJobs:
    """Background UMAP fits for one data directory, at most one per (collection, parameters)."""

    def __init__(self, data_dir: Path):
        self.cache = MapCache(data_dir)
        self.jobs_dir = Path(data_dir) / "maps" / "jobs"
        self._procs: dict[str, tuple[subprocess.Popen, float, Path]] = {}
        self._lock = threading.Lock()

    def _key(self, collection: str, params: MapParams) -> str:
        return f"{collection}|{params.key()}"

    def start(self, collection: str, ids: list[str], vectors: np.ndarray, params: MapParams) -> None:
        """Fit in a child process unless one is already fitting this map (then nothing happens)."""
        key = self._key(collection, params)
        with self._lock:
            if key in self._procs and self._procs[key][0].poll() is None:
                return
            self.jobs_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.jobs_dir, suffix=".npz")
            os.close(fd)
            np.savez(tmp, ids=np.array(ids, dtype=str), vectors=str(_job_vectors(Path(tmp), vectors)))
            log = Path(tmp).with_suffix(".log")
            NUMBA_CACHE.mkdir(parents=True, exist_ok=True)
            env = {**os.environ, "NUMBA_CACHE_DIR": str(NUMBA_CACHE)}
            with open(log, "wb") as out:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "indexing.maps.jobs", tmp, str(self.cache.root.parent), collection,
                     json.dumps(asdict(params))], stdout=subprocess.DEVNULL, stderr=out, env=env,
                    cwd=Path(__file__).resolve().parents[2])
            self._procs[key] = (proc, time.time(), log)
            _CHILDREN.append((proc, Path(tmp)))

    def state(self, collection: str, params: MapParams) -> JobState | None:
        """The fit's state, or None if none was started in this process."""
        key = self._key(collection, params)
        with self._lock:
            entry = self._procs.get(key)
        if entry is None:
            return None
        proc, started, log = entry
        code = proc.poll()
        if code is None:
            return JobState(True, started=started)
        if code == 0:
            log.unlink(missing_ok=True)
            return JobState(False, started=started)
        lines = log.read_text(errors="replace").strip().splitlines() if log.exists() else []
        log.with_suffix(".npz").unlink(missing_ok=True)  # a crashed child leaves its input behind
        log.with_suffix(".vectors.npy").unlink(missing_ok=True)
        return JobState(False, (lines[-1] if lines else f"exit code {code}")[:300], started)

    def wait(self, collection: str, params: MapParams, timeout: float = 600) -> JobState | None:
        """Block until the fit ends (for the command line, benchmarks and tests)."""
        deadline = time.time() + timeout
        while (state := self.state(collection, params)) is not None and state.running:
            if time.time() > deadline:
                raise TimeoutError(f"the map fit did not finish within {timeout:.0f} s")
            time.sleep(0.2)
        return state

    def stamp(self, collection: str, params: MapParams) -> float:
        """When the fitted map was last written (0 if never): a cache key that changes when a fit lands."""
        return self.cache.stamp(collection, params)

    def projection(self, collection: str, ids: list[str], vectors: np.ndarray, params: MapParams) -> Projection:
        """The fitted map if there is one (new items placed); else a PCA preview. Either way a background
        fit is started when the map is missing or stale (``ensure``)."""
        cached = self.ensure(collection, ids, vectors, params)
        return preview(ids, vectors, params) if cached is None else extend(cached, ids, vectors)

    def ensure(self, collection: str, ids: list[str], vectors: np.ndarray,
               params: MapParams) -> Projection | None:
        """Start a background fit unless a good one exists, is running, or has just failed; returns the
        cached map. Stale: more items were added since the fit than it was fitted on (a map of 5 items
        cannot place 40 more)."""
        cached = self.cache.load(collection, params)
        if cached is not None and len(set(ids) - set(cached.ids)) <= len(cached.ids):
            return cached
        state = self.state(collection, params)
        if len(ids) and (state is None or not (state.running or state.error)):
            self.start(collection, ids, vectors, params)
        return cached


def _job_vectors(job: Path, vectors: np.ndarray) -> Path:
    """The vectors for a fit job: a hard link to their shared file (no copy, and it outlives the file's
    replacement by a newer version), else a copy of them."""
    link = job.with_suffix(".vectors.npy")
    source = getattr(vectors, "filename", None)
    if source:
        try:
            os.link(source, link)
            return link
        except OSError:
            pass
    np.save(link, np.asarray(vectors, np.float32))
    return link


def _fit_job(job: Path, data_dir: Path, collection: str, params: MapParams) -> None:
    with np.load(job, allow_pickle=False) as z:
        ids, vectors_file = [str(i) for i in z["ids"]], Path(str(z["vectors"]))
    try:
        get_map(MapCache(data_dir), collection, ids, load(vectors_file), params, refit=True)
    finally:
        job.unlink(missing_ok=True)
        vectors_file.unlink(missing_ok=True)


if __name__ == "__main__":  # the child process: python -m indexing.maps.jobs JOB DATA_DIR COLLECTION PARAMS
    job_file, data, name, raw = sys.argv[1:5]
    _fit_job(Path(job_file), Path(data), name, MapParams(**json.loads(raw)))
