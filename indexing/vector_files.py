"""A collection's vectors in one place: one float32 ``.npy`` file per content, memory-mapped by every reader.

At a million 512-d vectors a float32 copy is 2 GB. The query runner, the map, the background map fit and a
second app process all map the same file, so the operating system holds the vectors once (page cache) and no
page or process keeps its own copy.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np


def ids_key(ids: list[str]) -> str:
    """Identifies the rows, in order (ids are content hashes, so this names the content)."""
    digest = hashlib.sha256()
    for i in ids:
        digest.update(i.encode())
        digest.update(b"\n")
    return digest.hexdigest()[:24]


class VectorFiles:
    """Memory-mapped vector files under ``<data>/vectors``, one per (collection, content)."""

    def __init__(self, data_dir: Path | str):
        self.root = Path(data_dir) / "vectors"

    def path(self, collection: str, ids: list[str]) -> Path:
        return self.root / f"{collection}-{ids_key(ids)}.npy"

    def share(self, collection: str, ids: list[str], vectors: np.ndarray) -> np.ndarray:
        """``vectors`` as a read-only memory map of their file, written once per content (atomically, so two
        processes writing the same content agree); the collection's older files are removed (a process still
        reading one keeps its mapping)."""
        if not len(ids):
            return np.asarray(vectors, np.float32)  # nothing to share (and an empty file cannot be mapped)
        path = self.path(collection, ids)
        if not path.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.root, suffix=".npy")
            with os.fdopen(fd, "wb") as out:
                np.save(out, np.ascontiguousarray(vectors, dtype=np.float32))
            os.replace(tmp, path)
            for old in self.root.glob(f"{collection}-*.npy"):
                key = old.name[len(collection) + 1:-len(".npy")]
                if old != path and len(key) == 24 and "-" not in key:  # not another collection's name-prefix
                    old.unlink(missing_ok=True)
        return load(path)


def load(path: Path | str) -> np.ndarray:
    """A vector file, memory-mapped read-only."""
    return np.load(path, mmap_mode="r")
