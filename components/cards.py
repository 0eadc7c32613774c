"""One item as a card: thumbnail or text, score, name, metadata; user text is always shown as plain text."""
from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from PIL import Image

from components.why import Explainer, why_image
from indexing.store.blobs import Blobs
from indexing.store.chroma import Hit, Record


def metadata_line(metadata: dict) -> str:
    return " · ".join(f"{k}: {v}" for k, v in sorted(metadata.items()))


EXCERPT_CHARS = 600  # a card shows this much of a long text, and the rest on request
LARGE_PX = 480  # the item being judged: the original, no wider than this and never enlarged


def item_card(record: Record | Hit, blobs: Blobs, on_neighbours: Callable[[str], None] | None = None,
              key_prefix: str = "card", score_name: str = "cosine", large: bool = False,
              why: Explainer | None = None) -> None:
    """Draw one item inside a bordered container; ``large`` shows the original image instead of the thumbnail;
    ``why`` adds the "Why?" heatmap control to image cards."""
    with st.container(border=True):
        if record.kind == "image":
            original = blobs.original_path(record.id) if large else None
            thumb = blobs.thumb_path(record.id)
            picture = st.container()  # filled below the "Why?" toggle's run, drawn above it
            explained = why is not None and why_image(why, record.id, f"{key_prefix}-why-{record.id}",
                                                      LARGE_PX if large else 320, picture)
            if not explained:
                with picture:
                    if original is not None:
                        st.image(str(original), width=min(LARGE_PX, _pixel_width(original) or LARGE_PX))
                    elif thumb.exists():
                        st.image(str(thumb), width="stretch")
                    else:
                        st.warning("thumbnail missing")
            st.text(record.name)
        else:
            text = record.text or ""
            if len(text) <= EXCERPT_CHARS or st.toggle(f"Whole text ({len(text):,} characters)",
                                                       key=f"{key_prefix}-whole-{record.id}"):
                st.text(text)  # sent to the browser only when asked for: a 5 MB item made a 5 MB page
            else:
                st.text(text[:EXCERPT_CHARS] + " …")
            if record.truncated:
                st.caption("longer than the model's context: encoded truncated")
        if isinstance(record, Hit):
            st.caption(f"{record.kind} · {score_name} {record.score:.3f}")
        if record.metadata:
            st.text(metadata_line(record.metadata)[:EXCERPT_CHARS])
        st.code(record.id, language=None)  # the id a query by item takes: one line, with a copy button
        if on_neighbours is not None:
            st.button("Neighbours of this", key=f"{key_prefix}-{record.id}", on_click=on_neighbours,
                      args=(record.id,), width="stretch",
                      help="Make this item the query. For an image, its picture then appears under "
                           "“Search by a part of this image”: draw a box on it to find that part elsewhere."
                      if record.kind == "image" else "Make this item the query.")


def _pixel_width(path) -> int | None:
    try:
        with Image.open(path) as im:
            return im.width
    except OSError:
        return None
