"""Compose: a reference image plus a modification text ("make it blue") finds the target."""
import streamlit as st

from components.map.overlay import map_with_query
from components.query.reference_picker import reference_layout
from components.query.reference_results import reference_results
from components.sidebar import sidebar
from indexing.query.compose import COMPOSE_METHODS, METHOD_LABELS, SCORE_NAMES
from indexing.query.specs import DEFAULT_LAM, DEFAULT_METHOD_K, ComposeQuery

st.set_page_config(page_title="SimLab · Compose", layout="wide")
lab = sidebar()
st.title("Compose")
st.caption("Reference image + modification text → the images that match both. Methods side by side; the "
           "reference itself never appears in its results.")

reference, right = reference_layout(lab, lab.snapshot().records, key="compose-ref")
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
results = reference_results(lab, lambda: ComposeQuery(reference, modification, lam, tuple(methods), k),
                            METHOD_LABELS, SCORE_NAMES, k, key="compose")

if st.toggle("Show the composed query on the map", key="compose-map"):
    map_with_query(lab, results, f"{modification} ({METHOD_LABELS[results.main]})", key="compose-map-chart")
