"""Content-addressed files under the data directory: originals and thumbnails of image items."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


class Blobs:
    """``originals/ab/<id><ext>`` and ``thumbs/ab/<id>.jpg``; writes are atomic, so a crash leaves no half file."""

    def __init__(self, data_dir: Path):
        self.root = Path(data_dir)

    def _path(self, folder: str, item_id: str, suffix: str) -> Path:
        key = item_id.split("-", 1)[-1]
        return self.root / folder / key[:2] / f"{item_id}{suffix}"

    def thumb_path(self, item_id: str) -> Path:
        return self._path("thumbs", item_id, ".jpg")

    def original_path(self, item_id: str) -> Path | None:
        folder = self._path("originals", item_id, "").parent
        matches = sorted(folder.glob(f"{item_id}.*")) if folder.is_dir() else []
        return matches[0] if matches else None

    def put(self, item_id: str, original: bytes, suffix: str, thumbnail: bytes) -> None:
        """Store an image's original bytes and its thumbnail (no-op for parts already there)."""
        suffix = suffix.lower() if suffix.lower() in {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp",
                                                      ".tif", ".tiff"} else ".bin"
        _write_once(self._path("originals", item_id, suffix), original)
        _write_once(self.thumb_path(item_id), thumbnail)


def _write_once(path: Path, data: bytes) -> None:
    if not path.exists():
        atomic_write(path, data)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
