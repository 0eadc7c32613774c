"""Condition: similar *with respect to* something — an attribute ("color"), a new value ("blue"), an object."""
import pandas as pd
import streamlit as st

from components.map.figure import similarity_percentile
from components.map.overlay import map_with_query
from components.query.method_columns import rank_moves
from components.query.reference_picker import reference_layout
from components.query.reference_results import reference_results
from components.query.vocabulary import vocabulary_editor
from components.sidebar import sidebar
from indexing.query.condition import METHOD_LABELS, SCORE_NAMES
from indexing.query.runner import Results
from indexing.query.specs import DEFAULT_METHOD_K, ConditionQuery

st.set_page_config(page_title="SimLab · Condition", layout="wide")
lab = sidebar()
st.title("Condition")
st.caption("Plain neighbours beside conditioned ones. Type an attribute (color, shape, background…) to focus on "
           "it, a value (blue) to change to it, or an object (the car).")

reference, right = reference_layout(lab, lab.snapshot().records, key="condition-ref")
with right:
    text = st.text_input("Condition", key="condition-text", placeholder="color")
    k = st.slider("Results per method", 1, 24, DEFAULT_METHOD_K, key="condition-k")
    vocabulary = vocabulary_editor(key="condition-vocab")

if not text.strip() or reference is None:
    st.caption("Pick a reference and type a condition.")
    st.stop()


def reading(results: Results) -> str:
    """How the condition was read: an attribute to focus on, a value to change to, or an object."""
    cond = results.condition
    return "Condition: " + {"focus": f"focus on {cond.attribute}", "change": f"change {cond.attribute} to '{cond.text}'",
                            "object": f"focus on '{cond.text}' (free text: no value basis)"}[cond.kind]


results = reference_results(lab, lambda: ConditionQuery(reference, text, vocabulary, k), METHOD_LABELS, SCORE_NAMES,
                            k, key="condition", describe=reading)

st.subheader(f"How {METHOD_LABELS[results.main]} moved the plain ranking")
st.dataframe(pd.DataFrame(rank_moves(results, results.main)), hide_index=True, width="stretch")

if st.toggle("Colour the map by conditional similarity", key="condition-map"):
    map_with_query(lab, results, f"reference ({reading(results)[len('Condition: '):]})", key="condition-map-chart",
                   values=similarity_percentile(results.ranks(results.main)),
                   value_title=f"similarity percentile ({METHOD_LABELS[results.main]})")
