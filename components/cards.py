"""One item as a card: thumbnail or text, score, name, metadata; user text is always shown as plain text."""
from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from indexing.blobs import Blobs
from indexing.store import Hit, Record


def metadata_line(metadata: dict) -> str:
    return " · ".join(f"{k}: {v}" for k, v in sorted(metadata.items()))


def item_card(record: Record | Hit, blobs: Blobs, on_neighbours: Callable[[str], None] | None = None,
              key_prefix: str = "card") -> None:
    """Draw one item inside a bordered container."""
    with st.container(border=True):
        if record.kind == "image":
            thumb = blobs.thumb_path(record.id)
            if thumb.exists():
                st.image(str(thumb), width="stretch")
            else:
                st.warning("thumbnail missing")
            st.text(record.name)
        else:
            st.text(record.text or "")
            if record.truncated:
                st.caption("longer than the model's context: encoded truncated")
        if isinstance(record, Hit):
            st.caption(f"{record.kind} · cosine {record.score:.3f}")
        if record.metadata:
            st.text(metadata_line(record.metadata))
        if on_neighbours is not None:
            st.button("Neighbours of this", key=f"{key_prefix}-{record.id}", on_click=on_neighbours,
                      args=(record.id,), width="stretch")
