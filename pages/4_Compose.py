"""Compose: a reference image plus a modification text ("make it blue") finds the target."""
import streamlit as st

from components.map_overlay import map_with_query
from components.method_columns import method_columns
from components.plain import md_escape
from components.reference_picker import reference_layout
from components.save_query import save_query_button
from components.sidebar import sidebar
from indexing.compose import COMPOSE_METHODS, METHOD_LABELS, SCORE_NAMES
from indexing.errors import SimLabError
from indexing.rich_queries import compose

st.set_page_config(page_title="SimLab · Compose", layout="wide")
lab = sidebar()
st.title("Compose")
st.caption("Reference image + modification text → the images that match both. Methods side by side; the "
           "reference itself never appears in its results.")

records, vectors = lab.vectors()
ref, right = reference_layout(lab, records, vectors, key="compose-ref")
with right:
    modification = st.text_input("Modification", key="compose-text", placeholder="make it blue")
    lam = st.slider("Text weight λ", 0.0, 1.0, 0.5, 0.05, key="compose-lambda",
                    help="0: image only, 1: text only (weighted sum and slerp)")
    methods = st.multiselect("Methods", COMPOSE_METHODS, default=list(COMPOSE_METHODS),
                             format_func=METHOD_LABELS.get, key="compose-methods")
    k = st.slider("Results per method", 1, 24, 6, key="compose-k")

if not modification.strip() or not methods or (ref.item is None and ref.image is None):
    st.caption("Pick a reference and type a modification to compose a query.")
    st.stop()
try:
    result = compose(ref, modification, lab.encoder, records, vectors, lam, tuple(methods), k)
except SimLabError as exc:
    st.error(md_escape(exc))
    st.stop()

if ref.item:
    save_query_button(lab, {"type": "compose", "reference": ref.item, "text": modification, "lam": lam,
                            "methods": list(methods)}, modification, key="save-compose")
for note in result.notes:
    st.caption(md_escape(note))
method_columns(result, records, lab.blobs, METHOD_LABELS, per_column=k, key="compose",
               score_names=SCORE_NAMES)

if st.toggle("Show the composed query on the map", key="compose-map"):
    main = "sum" if "sum" in result.results else methods[0]
    r = result.results[main]
    map_with_query(lab, result.query_vector, f"{modification} ({METHOD_LABELS[main]})", r.top, r.scores,
                   key="compose-map-chart")
