"""Compose: a reference image plus a modification text ("make it blue") finds the target."""
import streamlit as st

from components.gallery import gallery
from components.label.fitted import likely_relevant
from components.map.overlay import map_with_query
from components.query.method_columns import method_columns
from components.safe_text import md_escape
from components.query.reference_picker import reference_layout
from components.query.save import save_query_button
from components.sidebar import sidebar
from components.why import Explainer
from indexing.query.compose import COMPOSE_METHODS, METHOD_LABELS, SCORE_NAMES
from indexing.core.errors import SimLabError
from indexing.query.specs import DEFAULT_LAM, DEFAULT_METHOD_K, ComposeQuery

st.set_page_config(page_title="SimLab · Compose", layout="wide")
lab = sidebar()
st.title("Compose")
st.caption("Reference image + modification text → the images that match both. Methods side by side; the "
           "reference itself never appears in its results.")

records, vectors = lab.vectors()
reference, right = reference_layout(lab, records, vectors, key="compose-ref")
with right:
    modification = st.text_input("Modification", key="compose-text", placeholder="make it blue")
    lam = st.slider("Text weight λ", 0.0, 1.0, DEFAULT_LAM, 0.05, key="compose-lambda",
                    help="0: image only, 1: text only (weighted sum and slerp)")
    methods = st.multiselect("Methods", COMPOSE_METHODS, default=list(COMPOSE_METHODS),
                             format_func=METHOD_LABELS.get, key="compose-methods")
    k = st.slider("Results per method", 1, 24, DEFAULT_METHOD_K, key="compose-k")

if not modification.strip() or not methods or reference is None:
    st.caption("Pick a reference and type a modification to compose a query.")
    st.stop()
try:
    spec = ComposeQuery(reference, modification, lam, tuple(methods), k)
    results = lab.run(spec)
except SimLabError as exc:
    st.error(md_escape(exc))
    st.stop()

save_query_button(lab, spec, key="save-compose")
why = Explainer(lab, spec)
for note in results.notes:
    st.caption(md_escape(note))
relevant = likely_relevant(lab, results, key="compose-cut")
if relevant is not None:
    st.subheader(f"Likely relevant under {METHOD_LABELS[results.main]}")
    gallery(relevant, lab.blobs, columns=6, key_prefix="compose-cut", score_name="P(relevant)", why=why)
method_columns(results, lab.blobs, METHOD_LABELS, per_column=k, key="compose", score_names=SCORE_NAMES,
               why=why)

if st.toggle("Show the composed query on the map", key="compose-map"):
    map_with_query(lab, results, f"{modification} ({METHOD_LABELS[results.main]})", key="compose-map-chart")
