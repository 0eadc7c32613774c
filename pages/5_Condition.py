"""Condition: similar *with respect to* something — an attribute ("color"), a new value ("blue"), an object."""
import pandas as pd
import streamlit as st

from components.gallery import gallery
from components.label.fitted import likely_relevant
from components.map.figure import similarity_percentile
from components.map.overlay import map_with_query
from components.query.method_columns import method_columns, rank_moves
from components.safe_text import md_escape
from components.query.reference_picker import reference_layout
from components.query.save import save_query_button
from components.sidebar import sidebar
from components.why import Explainer
from components.query.vocabulary import vocabulary_editor
from indexing.query.condition import METHOD_LABELS, SCORE_NAMES
from indexing.core.errors import SimLabError
from indexing.query.specs import DEFAULT_METHOD_K, ConditionQuery

st.set_page_config(page_title="SimLab · Condition", layout="wide")
lab = sidebar()
st.title("Condition")
st.caption("Plain neighbours beside conditioned ones. Type an attribute (color, shape, background…) to focus on "
           "it, a value (blue) to change to it, or an object (the car).")

records, vectors = lab.vectors()
reference, right = reference_layout(lab, records, vectors, key="condition-ref")
with right:
    text = st.text_input("Condition", key="condition-text", placeholder="color")
    k = st.slider("Results per method", 1, 24, DEFAULT_METHOD_K, key="condition-k")
    vocabulary = vocabulary_editor(key="condition-vocab")

if not text.strip() or reference is None:
    st.caption("Pick a reference and type a condition.")
    st.stop()
try:
    spec = ConditionQuery(reference, text, vocabulary, k)
    results = lab.run(spec)
except SimLabError as exc:
    st.error(md_escape(exc))
    st.stop()

cond = results.condition
what = {"focus": f"focus on {cond.attribute}", "change": f"change {cond.attribute} to '{cond.text}'",
        "object": f"focus on '{cond.text}' (free text: no value basis)"}[cond.kind]
st.caption(md_escape(f"Condition: {what}"))
for note in results.notes:
    st.caption(md_escape(note))
save_query_button(lab, spec, key="save-condition")
why = Explainer(lab, spec)
relevant = likely_relevant(lab, results, key="condition-cut")
if relevant is not None:
    st.subheader(f"Likely relevant under {METHOD_LABELS[results.main]}")
    gallery(relevant, lab.blobs, columns=6, key_prefix="condition-cut", score_name="P(relevant)", why=why)
method_columns(results, lab.blobs, METHOD_LABELS, per_column=k, key="condition", score_names=SCORE_NAMES,
               why=why)

st.subheader(f"How {METHOD_LABELS[results.main]} moved the plain ranking")
st.dataframe(pd.DataFrame(rank_moves(results, results.main)), hide_index=True, width="stretch")

if st.toggle("Colour the map by conditional similarity", key="condition-map"):
    map_with_query(lab, results, f"reference ({what})", key="condition-map-chart",
                   values=similarity_percentile(results.ranks(results.main)),
                   value_title=f"similarity percentile ({METHOD_LABELS[results.main]})")
