"""Neighbours: the nearest items to a text, an image or an item, with cosine scores."""
import streamlit as st

from components.gallery import gallery
from components.plain import md_escape
from components.query_builder import query_builder, use_item_as_query
from components.resources import cache_key, metadata_values
from components.save_query import save_query_button
from components.sidebar import sidebar
from indexing.errors import SimLabError

st.set_page_config(page_title="SimLab · Neighbours", layout="wide")
lab = sidebar()
st.title("Neighbours")

count = lab.store.count()
if count == 0:
    st.info("The index is empty for this model. Add items on the Ingest page (or load the demo world).")
    st.stop()

form = query_builder(metadata_values(lab, cache_key(lab), lab.version()))
if form.query is None:
    st.caption("Type a text, upload an image, or pick an item to see its nearest neighbours.")
    st.stop()

try:
    hits = lab.search(form.query, k=form.k, kind=form.kind, filters=form.filters)
except SimLabError as exc:
    st.error(md_escape(exc))
    st.stop()

if form.query.item:
    st.caption("Query item")
    gallery(lab.store.get([form.query.item]), lab.blobs, columns=4, key_prefix="query")
if form.query.image:
    st.image(form.query.image, width=320, caption="Query image")
q = form.query
spec = ({"type": "text", "text": q.text} if q.text else {"type": "item", "item": q.item} if q.item
        else {"type": "image"})  # the image is written under the data dir only when the query is saved
spec.update(k=form.k, kind=form.kind, filters=form.filters)
save_query_button(lab, spec, q.text or q.item or "image query", key="save-neighbours", image=q.image)
st.subheader(f"{len(hits)} nearest")
gallery(hits, lab.blobs, columns=4, on_neighbours=use_item_as_query, key_prefix="hit")
