"""A data directory's write generation: a token every writer replaces, so readers notice other writers.

Chroma's embedded client keeps its own in-memory view of the files; after another process writes
(the CLI ingesting while the app is open), that view is stale: new items are missing from queries and
reading vectors fails ("Error finding id"). Every SimLab writer replaces this token before and after it
writes; a reader that finds a token other than the one it last saw reopens its client.
"""
from __future__ import annotations

import uuid
from pathlib import Path

from indexing.store.blobs import atomic_write

FILE = ".generation"


def read_generation(data_dir: Path) -> str:
    """The current token ('' before anything was ever written)."""
    try:
        return (Path(data_dir) / FILE).read_text().strip()
    except OSError:
        return ""


WRITING = "writing-"  # a token that says a write is under way (or died part-way): never up to date


def bump_generation(data_dir: Path, writing: bool = False) -> str:
    """Replace the token atomically and return the new one (``writing``: a write starts now)."""
    token = (WRITING if writing else "") + uuid.uuid4().hex
    atomic_write(Path(data_dir) / FILE, token.encode())
    return token
