"""Progress reporting: the one callback type long work takes, and its terminal bar."""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm import tqdm

Progress = Callable[[int, int], None]
"""``progress(done, total)``: called as work advances (the app draws st.progress, the CLI tqdm)."""


@contextmanager
def terminal_progress(desc: str, unit: str) -> Iterator[Progress]:
    """A tqdm bar on stderr and the ``Progress`` callback that moves it."""
    with tqdm(unit=unit, desc=desc, file=sys.stderr) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        yield progress
