"""One writer per embedded data directory: a lock file, taken without waiting.

A second ingest (another terminal, or the app and the CLI) is refused at once with a clear message
instead of interleaving writes into the same embedded Chroma files. Readers never take the lock.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from indexing.core.errors import SimLabError


class StoreBusy(SimLabError, RuntimeError):
    """Another process is writing to this data directory."""


@contextmanager
def write_lock(data_dir: Path, server_mode: bool = False) -> Iterator[None]:
    """Hold the data directory's write lock for the duration; raise ``StoreBusy`` if someone else has it.

    In server mode Chroma serialises writes itself, but blobs still live under the data dir, so the
    lock is taken there too.
    """
    path = Path(data_dir) / ".write.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        owner = (Path(data_dir) / ".write.owner")
        who = owner.read_text().strip() if owner.exists() else "another process"
        raise StoreBusy(f"{who} is already writing to {data_dir}; wait for it to finish, "
                        "or use another SIMLAB_DATA.") from None
    try:
        (Path(data_dir) / ".write.owner").write_text(f"SimLab process {os.getpid()}")
        yield
    finally:
        lock.release()
