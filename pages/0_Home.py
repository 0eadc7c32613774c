"""Home: what is indexed, with which model, where, and the settings in force."""
import pandas as pd
import streamlit as st

from components.resources import cache_key, stats as cached_stats
from components.sidebar import sidebar

st.set_page_config(page_title="SimLab", layout="wide")
lab = sidebar()
stats = cached_stats(lab, cache_key(lab), lab.version())

st.title("SimLab")
st.write("Explore similarity in CLIP space: ingest images and texts, then find their neighbours.")
c1, c2, c3, c4 = st.columns(4)
c1.metric("Items", stats["count"])
c2.metric("Images", stats["images"])
c3.metric("Texts", stats["texts"])
c4.metric("Vector dimension", stats["dim"])

st.subheader("Where things are")  # as data (st.table would read Markdown in a value), every row in view
st.dataframe(pd.DataFrame([("Model", stats["model"]), ("Why this model", stats["model_reason"]),
                           ("Collection", stats["collection"]), ("Store", stats["store"]),
                           ("Data directory", stats["data_dir"])], columns=["", "value"]),
             hide_index=True, height="content")
st.subheader("Settings")
st.dataframe(pd.DataFrame(lab.settings.as_rows(), columns=["environment variable", "value"]), hide_index=True,
             height="content")

st.page_link("pages/1_Ingest.py", label="Ingest files or the demo world")
st.page_link("pages/2_Neighbours.py", label="Find neighbours")
