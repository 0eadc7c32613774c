"""Large grade buttons with keyboard shortcuts (0–3 by default), plus skip; all alike, so none looks chosen."""
from __future__ import annotations

from collections.abc import Callable

import streamlit as st


def label_buttons(scale: dict[int, str], on_grade: Callable[[int], None], on_skip: Callable[[], None],
                  key: str) -> None:
    cols = st.columns(len(scale) + 1)
    for col, (grade, label) in zip(cols, sorted(scale.items())):
        col.button(f"{grade} · {label}", key=f"{key}-{grade}", on_click=on_grade, args=(grade,),
                   shortcut=str(grade) if 0 <= grade <= 9 else None, width="stretch",
                   type="secondary")  # no grade looks chosen before one is
    cols[-1].button("Skip (S)", key=f"{key}-skip", on_click=on_skip, shortcut="S", width="stretch")
