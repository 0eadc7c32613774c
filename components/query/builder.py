"""The query builder: text, an uploaded image, or an item id; plus k, kind and metadata filters → a spec."""
from __future__ import annotations

import streamlit as st

from components.state import MATCH_MODES, QUERY_MODES, Keys
from indexing.query.specs import NeighboursQuery, Source

IMAGE_TYPES = ["jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff"]


def use_item_as_query(item_id: str) -> None:
    """Callback for "Neighbours of this": make the item the query."""
    st.session_state[Keys.QUERY_MODE] = "Item"
    st.session_state[Keys.QUERY_ITEM] = item_id


def query_builder(metadata_values: dict[str, list[str]], adapters: list[str] = ()) -> NeighboursQuery | None:
    """The Neighbours query the widgets describe, or None until there is something to search for."""
    mode = st.segmented_control("Query by", QUERY_MODES, key=Keys.QUERY_MODE) or "Text"
    source: Source | None = None
    if mode == "Text":
        text = st.text_input("Text", key=Keys.QUERY_TEXT, placeholder="a red circle")
        source = Source(text=text) if text.strip() else None
    elif mode == "Image":
        upload = st.file_uploader("Image", type=IMAGE_TYPES, key=Keys.QUERY_IMAGE)
        source = Source(image=upload.getvalue()) if upload else None
    else:
        item = st.text_input("Item id or file name", key=Keys.QUERY_ITEM, placeholder="img-… or photo.jpg",
                             help="The id under any card, a file name, or the start of one; or use "
                                  "“Neighbours of this” on any result.")
        source = Source(item=item.strip()) if item.strip() else None
    match = MATCH_MODES[st.segmented_control(
        "Match", list(MATCH_MODES), key=Keys.MATCH, help="Whole image: each image as one vector. Any region: each "
        "image scored by its best part (a 4×4 grid), so an object is found beside others, wherever it is.")
        or "whole image"]
    c1, c2, c3 = st.columns([1, 1, 2])
    k = c1.slider("k", 1, 50, key=Keys.K)
    kind = c2.selectbox("Kind", ["any", "image", "text"], key=Keys.KIND, disabled=match == "region",
                        help="Region matching returns images only." if match == "region" else None)
    filters: dict[str, str] = {}
    with c3:
        field = st.selectbox("Metadata filter", ["(none)"] + list(metadata_values), key=Keys.META_FIELD)
        if field and field != "(none)":
            value = st.selectbox(f"{field} =", metadata_values[field], key=Keys.META_VALUES)
            if value is not None:
                filters[field] = value
    adapter = None
    if adapters and match == "whole":
        choice = st.selectbox("Adapter", ["(none)", *adapters], key=Keys.ADAPTER,
                              help="A similarity learned from your judgments (Label page → Adapter).")
        adapter = None if choice == "(none)" else choice
    if source is None:
        return None
    return NeighboursQuery(source, k, "image" if match == "region" else None if kind == "any" else kind, filters,
                           adapter=adapter, match=match)
