"""Model check: what the active model understands (ARO probes), each figure next to its chance rate."""
import pandas as pd
import streamlit as st

from components.safe_text import md_escape
from components.probe_chart import probe_figure
from components.resources import cache_key
from components.sidebar import sidebar
from indexing.lab import Lab
from indexing.evaluation.probes import MIN_CAPTION_WORDS, caption_fields, collection_order, rows, world_probes
from indexing.shapes.world import DEFAULT_EVAL_SEED

st.set_page_config(page_title="SimLab · Model check", layout="wide")
lab = sidebar()
st.title("Model check")
st.caption("Before trusting a model's neighbours: does it bind colours to the right objects, tell left from "
           "right, notice when a caption's words are shuffled? (The probes of “When and why vision-language models "
           "behave like bags-of-words”, ARO.) A model that matches words without their order fails these, and "
           "that is worth knowing.")


@st.cache_data(show_spinner=False, max_entries=8)
def _world(_lab: Lab, model: str, seed: int, n: int) -> dict:
    return world_probes(_lab.encoder, seed, n)


@st.cache_data(show_spinner=False, max_entries=16)
def _collection(_lab: Lab, collection: str, version: str, field: str) -> dict:
    records, vectors = _lab.vectors()
    return {"order_collection": collection_order(_lab.encoder, records, vectors, field)}


def show(result: dict, key: str) -> None:
    table = rows(result)
    st.plotly_chart(probe_figure(table), key=key, config={"displayModeBar": False})
    st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch",
                 column_config={"accuracy": st.column_config.NumberColumn(format="%.3f"),
                                "chance": st.column_config.NumberColumn(format="%.3f")})


st.subheader("On generated scenes (exact answers)")
n = st.select_slider("Scenes per probe", [50, 100, 200, 400], value=200, key="probe-n")
with st.spinner(f"Probing {lab.spec.label} on {n} two-object and {n} one-object scenes…"):
    show(_world(lab, lab.spec.key, DEFAULT_EVAL_SEED, n), key="probe-world")
st.caption("Binding and relation: two-object scenes, the true caption against the one with colours (or places) "
           "swapped; chance 0.5. Order: a one-object scene's full caption against three shuffles of its words; "
           "chance 0.25. Zero-shot: each attribute guessed from one text prompt per value.")

st.subheader("On your collection")
records, _ = lab.vectors()
fields = caption_fields(records)
if not fields:
    st.info(f"No image item carries a caption (a metadata field of {MIN_CAPTION_WORDS}+ words), so word order cannot "
            "be probed on this collection. Ingest images with a CSV or JSONL that gives each a caption.")
    st.stop()
field = st.selectbox("Captions from metadata field", list(fields), key="probe-field",
                     format_func=lambda f: f"{f} ({fields[f]:,} images)")
with st.spinner("Probing word order on your captions…"):
    show(_collection(lab, cache_key(lab), lab.version(), field), key="probe-collection")
st.caption(md_escape(f"Each image's “{field}” against three shuffles of its words (at most 1,000 images, a fixed "
                     f"sample); content words stand in for nouns and adjectives."))
