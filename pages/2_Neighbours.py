"""Neighbours: the nearest items to a text, an image or an item, with cosine scores."""
import streamlit as st

from components.gallery import gallery
from components.label.fitted import adapter_names, likely_relevant
from components.safe_text import md_escape
from components.query.builder import query_builder, use_item_as_query
from components.query.region_search import part_search, region_status
from components.resources import cache_key, metadata_values
from components.query.save import save_query_button
from components.sidebar import sidebar
from components.why import Explainer
from indexing.core.errors import SimLabError

st.set_page_config(page_title="SimLab · Neighbours", layout="wide")
lab = sidebar()
st.title("Neighbours")

if lab.store.count() == 0:
    st.info("The index is empty for this model. Add items on the Ingest page (or load the demo world).")
    st.stop()

spec = query_builder(metadata_values(lab, cache_key(lab), lab.version()), adapter_names(lab))
if spec is None:
    st.caption("Type a text, upload an image, or pick an item to see its nearest neighbours.")
    st.stop()

if spec.match == "region":
    region_status(lab)
try:
    results = lab.run(spec)
except SimLabError as exc:
    st.error(md_escape(exc))
    st.stop()

for note in results.notes:
    st.caption(md_escape(note))
if spec.source.item:
    st.caption("Query item")
    gallery([results.snapshot.records[results.exclude]], lab.blobs, columns=4, key_prefix="query")
if spec.source.image:
    st.image(spec.source.image, width=320, caption="Query image")
part_search(lab, spec, results.snapshot.records)
save_query_button(lab, spec, key="save-neighbours")
why = Explainer(lab, spec, regions=results.matched_regions())
relevant = likely_relevant(lab, results, key="neighbours-cut")
if relevant is not None:
    gallery(relevant, lab.blobs, columns=4, on_neighbours=use_item_as_query, key_prefix="hit",
            score_name="P(relevant)", why=why)
    st.stop()
hits = results.hits()
st.subheader(f"{len(hits)} nearest" + (f" (adapter {spec.adapter})" if spec.adapter else "")
             + (" by their best region" if spec.match == "region" else ""))
gallery(hits, lab.blobs, columns=4, on_neighbours=use_item_as_query, key_prefix="hit", why=why,
        score_name="best-region cosine" if spec.match == "region" else "cosine")
