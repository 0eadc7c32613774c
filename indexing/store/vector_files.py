"""A collection's vectors in one place: one float32 ``.npy`` file per content, memory-mapped by every reader.

At a million 512-d vectors a float32 copy is 2 GB. The query runner, the map, the background map fit and a
second app process all map the same file, so the operating system holds the vectors once (page cache) and no
page or process keeps its own copy.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path

import numpy as np


KEEP_OLD_SECONDS = 600  # an older file of the collection stays this long: another process may still be on it


def ids_key(ids: list[str], store: str = "") -> str:
    """Identifies the rows, in order, of one store's collection (``store``: its id, so a recreated store
    whose items have the same ids but new vectors gets a new file)."""
    digest = hashlib.sha256(store.encode() + b"\n")
    for i in ids:
        digest.update(i.encode())
        digest.update(b"\n")
    return digest.hexdigest()[:24]


class VectorFiles:
    """Memory-mapped vector files under ``<data>/vectors``, one per (collection, content)."""

    def __init__(self, data_dir: Path | str):
        self.root = Path(data_dir) / "vectors"

    def path(self, collection: str, ids: list[str], store: str = "") -> Path:
        return self.root / f"{collection}-{ids_key(ids, store)}.npy"

    def share(self, collection: str, ids: list[str], vectors: np.ndarray, store: str = "") -> np.ndarray:
        """``vectors`` as a read-only memory map of their file, written once per content (atomically, so two
        processes writing the same content agree). The collection's files older than ``KEEP_OLD_SECONDS`` are
        removed (a process still reading one keeps its mapping). A file that cannot be written (disk full,
        read-only data directory) leaves the vectors in memory, as they were."""
        if not len(ids):
            return np.asarray(vectors, np.float32)  # nothing to share (and an empty file cannot be mapped)
        path = self.path(collection, ids, store)
        if not path.exists():
            try:
                self._write(path, vectors)
            except OSError:
                return np.asarray(vectors, np.float32)
            self._remove_old(collection, path)
        return load(path)

    def _write(self, path: Path, vectors: np.ndarray) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, suffix=".npy.tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                np.save(out, np.ascontiguousarray(vectors, dtype=np.float32))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _remove_old(self, collection: str, keep: Path) -> None:
        for old in self.root.glob(f"{collection}-*.npy"):
            key = old.name[len(collection) + 1:-len(".npy")]
            if old == keep or len(key) != 24 or "-" in key:  # not another collection's name-prefix
                continue
            try:
                if time.time() - old.stat().st_mtime > KEEP_OLD_SECONDS:
                    old.unlink()
            except OSError:
                continue


def load(path: Path | str) -> np.ndarray:
    """A vector file, memory-mapped read-only."""
    return np.load(path, mmap_mode="r")
