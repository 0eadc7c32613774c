"""Compare two models on the same items: the other model's map beside this one, the selection linked, and
how many of each item's nearest neighbours the two models share."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from components.ingest_jobs import running_progress, start_ingest
from components.map_data import collection_map
from components.map_figure import map_figure
from components.map_view import current_params
from components.palette import sequential
from components.plain import md_escape
from components.resources import LabUnavailable, cache_key, open_cached_lab
from components.sidebar import model_options
from components.state import Keys, MapKeys as K
from indexing.compare import AGREEMENT_K, aligned, knn_agreement, reencode_plan
from indexing.lab import Lab

BANDS = [f"{lo}–{lo + 2}/10 shared" for lo in range(0, 10, 2)]


@st.cache_data(show_spinner="Comparing neighbourhoods…", max_entries=8)
def _agreement(_a: Lab, _b: Lab, key_a: str, version_a: str, key_b: str, version_b: str) -> tuple[np.ndarray, ...]:
    records_a, vectors_a = _a.vectors()
    records_b, vectors_b = _b.vectors()
    ia, ib = aligned(records_a, records_b)
    return ia, ib, knn_agreement(vectors_a[ia], vectors_b[ib], AGREEMENT_K)


def band(share: float) -> str:
    return BANDS[min(4, int(share * 10) // 2)]


def compare_panel(lab: Lab, picked: list[int]) -> None:
    """Pick another model; encode the items it lacks (a background ingest with progress); then its map,
    coloured by neighbourhood agreement, with this map's selection ringed."""
    here = st.session_state.get(Keys.ACTIVE_MODEL)
    options = [m for m in model_options() if m != here]
    other_name = st.selectbox("Other model", options, key="compare-model")
    try:
        other = open_cached_lab(other_name)
    except LabUnavailable as exc:
        st.warning(md_escape(f"“{other_name}” cannot be used here: {str(exc).split('. Loadable here')[0]}."))
        return
    if other.store.name == lab.store.name:
        st.info("That is the model this map already uses; pick another.")
        return
    records, _ = lab.vectors()
    other_ids = {r.id for r in other.vectors()[0]}
    missing = [r for r in records if r.id not in other_ids]
    if running_progress():
        st.caption("Encoding under the other model; the comparison updates when it is done.")
        return
    if missing:
        st.caption(f"{len(missing):,} of the {len(records):,} items are not encoded under {other.spec.label} yet.")
        if st.button(f"Encode them under {other.spec.label}", key="compare-encode"):
            start_ingest(other, f"{len(missing):,} items re-encoded under {other.spec.label}",
                         reencode_plan(missing, lab.blobs, lab.spec.label))
            st.rerun()
    ia, ib, shared = _agreement(lab, other, cache_key(lab), lab.version(), cache_key(other), other.version())
    if len(ia) < 3:
        return
    st.metric(f"Nearest {AGREEMENT_K} neighbours both models share (mean over {len(ia):,} items)",
              f"{float(shared.mean()):.2f}")
    projection, _ = collection_map(other, current_params(), st.session_state[K.REFIT])
    other_records = other.vectors()[0]
    colours = ["not in this map"] * len(other_records)
    for j, s in zip(ib, shared):
        colours[j] = band(float(s))
    where = {i: j for i, j in zip(ia.tolist(), ib.tolist())}
    ringed = [where[i] for i in picked if i in where]
    fig = map_figure(projection.coords, other_records, colours, scheme=sequential(BANDS[::-1]), height=480)
    if ringed and projection.coords.shape[1] == 2:
        fig.add_trace(go.Scattergl(x=projection.coords[ringed, 0], y=projection.coords[ringed, 1], mode="markers",
                                   name="selected here", hoverinfo="skip",
                                   marker={"size": 13, "color": "rgba(0,0,0,0)", "line": {"width": 2, "color": "red"}}))
    st.caption(md_escape(f"{other.spec.label}: each item coloured by how many of its {AGREEMENT_K} nearest "
                         f"neighbours this model also has among its {AGREEMENT_K}"
                         + (f"; the {len(ringed)} item{'s' if len(ringed) > 1 else ''} selected on the map above "
                            f"{'are' if len(ringed) > 1 else 'is'} ringed in red." if ringed
                            else "; select points on the map above to see where they land here.")))
    st.plotly_chart(fig, key="compare-chart")
