"""Ingest: upload images, texts or zips, or load the demo world; see what was added, skipped and failed."""
import streamlit as st

from components.ingest_board import DEMO_LABEL, job_list, start_ingest
from components.sidebar import sidebar
from components.state import Keys
from indexing.shapes.demo import DEMO_PAIR_SHARE, demo_plan
from indexing.ingest.media import IMAGE_SUFFIXES
from indexing.ingest.sources import plan_uploads
from indexing.ingest.texts import TEXT_SUFFIXES

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
    names = [f.name for f in uploads]
    label = f"{len(names)} uploaded file(s): {', '.join(names[:3])}{' …' if len(names) > 3 else ''}"
    start_ingest(lab, label, plan_uploads((f.name, f.getvalue()) for f in uploads))
    st.session_state[Keys.UPLOADER_GEN] += 1
    st.rerun()

st.subheader("Demo world")
st.caption("Rendered shapes with known attributes (shape, color, size, background, position) as metadata, "
           "plus captions for about a quarter of them; a tenth of the images are scenes of two objects, with their "
           "caption (“a red circle to the left of a blue square”). The same seed always gives the same world.")
n = st.number_input("Images", min_value=1, max_value=20_000, step=100, key=Keys.DEMO_N)
if st.button("Load demo world", key=Keys.DEMO_BUTTON):
    start_ingest(lab, f"{DEMO_LABEL}, {int(n):,} images", demo_plan(int(n), pair_share=DEMO_PAIR_SHARE))
    st.rerun()

job_list()
