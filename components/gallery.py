"""A grid of item cards."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from components.cards import item_card
from components.why import Explainer
from indexing.store.blobs import Blobs
from indexing.store.chroma import Record


def gallery(records: Sequence[Record], blobs: Blobs, columns: int = 4,
            on_neighbours: Callable[[str], None] | None = None, key_prefix: str = "gallery",
            score_name: str = "cosine", why: Explainer | None = None) -> None:
    """Lay out ``records`` row by row, ``columns`` per row, best first; ``why``: image cards get "Why?"."""
    if not records:
        st.info("No items to show.")
        return
    for start in range(0, len(records), columns):
        cols = st.columns(columns)
        for col, record in zip(cols, records[start:start + columns]):
            with col:
                item_card(record, blobs, on_neighbours, key_prefix, score_name, why=why)
