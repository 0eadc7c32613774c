"""Ingest: upload images, texts or zips, or load the demo world; see what was added, skipped and failed."""
import streamlit as st

from components.map_data import start_fit
from components.progress import progress_bar
from components.sidebar import sidebar
from components.state import Keys
from components.summary import ingest_summary
from indexing.demo import demo_plan
from indexing.media import IMAGE_SUFFIXES
from indexing.sources import plan_uploads
from indexing.texts import TEXT_SUFFIXES
from indexing.writelock import StoreBusy

st.set_page_config(page_title="SimLab · Ingest", layout="wide")
lab = sidebar()
st.title("Ingest")

st.subheader("Upload files")
st.caption("Images (JPEG, PNG, WebP, GIF, BMP, TIFF); .txt (one item per line), .csv (a 'text' column, other "
           "columns kept as metadata), .jsonl (a 'text' field); or a .zip of these. Duplicates are skipped.")
types = sorted(s.lstrip(".") for s in IMAGE_SUFFIXES | TEXT_SUFFIXES | {".zip"})
uploads = st.file_uploader("Files", type=types, accept_multiple_files=True,
                           key=f"{Keys.UPLOADS}-{st.session_state[Keys.UPLOADER_GEN]}")
if st.button(f"Ingest {len(uploads or [])} file(s)", key=Keys.INGEST_BUTTON, disabled=not uploads, type="primary"):
    plan = plan_uploads((f.name, f.getvalue()) for f in uploads)
    try:
        st.session_state[Keys.LAST_SUMMARY] = lab.ingest(plan, progress_bar("Ingesting")).as_dict()
    except StoreBusy as exc:
        st.error(str(exc))
    else:
        st.session_state[Keys.UPLOADER_GEN] += 1
        start_fit(lab)  # the map is fitted in the background, ready when someone opens it
        st.rerun()

st.subheader("Demo world")
st.caption("Rendered shapes with known attributes (shape, color, size, background, position) as metadata, "
           "plus captions for about a quarter of them. The same seed always gives the same world.")
n = st.number_input("Images", min_value=1, max_value=20_000, step=100, key=Keys.DEMO_N)
if st.button("Load demo world", key=Keys.DEMO_BUTTON):
    try:
        st.session_state[Keys.LAST_SUMMARY] = lab.ingest(demo_plan(int(n)), progress_bar("Loading demo")).as_dict()
    except StoreBusy as exc:
        st.error(str(exc))
    else:
        start_fit(lab)
        st.rerun()

if st.session_state[Keys.LAST_SUMMARY]:
    st.subheader("Last ingest")
    ingest_summary(st.session_state[Keys.LAST_SUMMARY])
