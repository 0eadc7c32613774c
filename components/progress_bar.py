"""Progress bars for long work, fed by the engine's ``progress(done, total)`` callbacks."""
from __future__ import annotations

from collections.abc import Callable

import streamlit as st


def progress_bar(label: str) -> Callable[[int, int], None]:
    """A ``st.progress`` bar and the callback that moves it ("label: done / total")."""
    bar = st.progress(0.0, text=f"{label}: starting…")

    def update(done: int, total: int) -> None:
        bar.progress(done / total if total else 1.0, text=f"{label}: {done} / {total}")

    return update
