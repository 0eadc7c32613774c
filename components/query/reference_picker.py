"""Choose a reference image by sight: find it by a few words (or browse), click "Use", see it large.

Picking from a list of ids was slow and blind; the chosen reference is always shown as a picture.
"""
from __future__ import annotations

import streamlit as st
from PIL import Image

from components.safe_text import md_escape
from components.query.builder import IMAGE_TYPES
from indexing.lab import Lab
from indexing.ingest.media import MediaError, decode_image
from indexing.query.specs import NeighboursQuery, Source
from indexing.store.chroma import Record

CANDIDATES = 8
REFERENCE_PX = 320


def _use(state_key: str, item_id: str) -> None:
    st.session_state[state_key] = item_id


def candidates(lab: Lab, images: list[int], records: list[Record], words: str) -> list[int]:
    """Indices of up to ``CANDIDATES`` images: the best matches for ``words`` (a Neighbours query, through the
    one runner), or the first ones."""
    if not words.strip():
        return images[:CANDIDATES]
    results = lab.run(NeighboursQuery(Source(text=words), k=CANDIDATES, kind="image"))
    return list(results.top[results.main])


def show_reference(lab: Lab, record: Record | None = None, image: Image.Image | None = None) -> None:
    """The reference as a picture, large enough to see (the original when there is one)."""
    if image is not None:
        st.image(image, width=REFERENCE_PX, caption="Reference (uploaded)")
        return
    path = lab.blobs.original_path(record.id) or lab.blobs.thumb_path(record.id)
    if path.exists():
        st.image(str(path), width=REFERENCE_PX)
    else:
        st.warning("This image's file is missing under the data directory.")
    st.text(f"Reference: {record.name}")


def reference_picker(lab: Lab, records: list[Record], key: str) -> Source | None:
    """The chosen reference (None until there is one); widgets are keyed under ``key``."""
    source = st.radio("Reference image", ["From the index", "Upload"], horizontal=True, key=f"{key}-source")
    if source == "Upload":
        upload = st.file_uploader("Image", type=IMAGE_TYPES, key=f"{key}-upload")
        if upload is None:
            return None
        try:
            image = decode_image(upload.getvalue())  # the same checks as an ingest: type, size, bombs
        except MediaError as exc:
            st.error(md_escape(f"{upload.name}: {exc}"))
            return None
        show_reference(lab, image=image)
        return Source(image=upload.getvalue())
    images = [i for i, r in enumerate(records) if r.kind == "image"]
    chosen_key = f"{key}-item"
    by_id = {records[i].id: i for i in images}
    if st.session_state.get(chosen_key) not in by_id:
        st.session_state[chosen_key] = records[images[0]].id
    show_reference(lab, records[by_id[st.session_state[chosen_key]]])
    words = st.text_input("Find another reference", key=f"{key}-find", placeholder="a red circle",
                          help="A few words; the closest images appear below. Empty: the first images.")
    cols = st.columns(4)
    for n, i in enumerate(candidates(lab, images, records, words)):
        with cols[n % 4]:
            thumb = lab.blobs.thumb_path(records[i].id)
            if thumb.exists():
                st.image(str(thumb), width="stretch")
            else:
                st.caption("thumbnail missing")
            st.button("Use", key=f"{key}-use-{records[i].id}", on_click=_use, args=(chosen_key, records[i].id),
                      width="stretch", disabled=records[i].id == st.session_state[chosen_key])
    return Source(item=st.session_state[chosen_key])


def reference_layout(lab: Lab, records: list[Record], key: str):
    """Stop with a message when there are no images; else draw the picker on the left and return
    (reference, right-hand column) for the page's own controls."""
    if not any(r.kind == "image" for r in records):
        st.info("No images in the index yet. Add some on the Ingest page (or load the demo world).")
        st.stop()
    left, right = st.columns([1, 1])
    with left:
        ref = reference_picker(lab, records, key=key)
    return ref, right
