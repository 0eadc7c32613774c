"""Choose a reference image: an item of the collection (by name) or an uploaded file."""
from __future__ import annotations

import streamlit as st

from indexing.rich_queries import Reference
from indexing.store import Record

MAX_LISTED = 2000


def reference_picker(records: list[Record], key: str) -> Reference:
    """Returns the chosen reference (possibly empty); widgets are keyed under ``key``."""
    source = st.radio("Reference image", ["From the index", "Upload"], horizontal=True, key=f"{key}-source")
    if source == "Upload":
        upload = st.file_uploader("Image", type=["jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff"],
                                  key=f"{key}-upload")
        return Reference(image=upload.getvalue() if upload else None)
    images = [r for r in records if r.kind == "image"][:MAX_LISTED]
    if not images:
        st.info("No images in the index yet; upload one instead, or add some on the Ingest page.")
        return Reference()
    labels = {r.id: f"{r.name} · {r.id[:12]}" for r in images}
    chosen = st.selectbox("Item", list(labels), format_func=labels.get, key=f"{key}-item")
    return Reference(item=chosen)


def reference_layout(records: list[Record], key: str):
    """Stop with a message when there are no images; else draw the picker on the left and return
    (reference, right-hand column) for the page's own controls."""
    if not any(r.kind == "image" for r in records):
        st.info("No images in the index yet. Add some on the Ingest page (or load the demo world).")
        st.stop()
    left, right = st.columns([1, 2])
    with left:
        ref = reference_picker(records, key=key)
    return ref, right
