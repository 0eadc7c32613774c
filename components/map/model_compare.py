"""Compare two models on the same items: the other model's map beside this one, a selection on either shown
on both, and how many of each item's nearest neighbours the two models share."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from components.ingest_board import running_progress, start_ingest
from components.map.data import collection_map
from components.map.figure import map_figure
from components.map.view import current_params, selected_indices
from components.map.palette import Colouring, sequential
from components.safe_text import md_escape
from components.resources import LabUnavailable, cache_key, open_cached_lab
from components.sidebar import model_options
from components.state import Keys
from indexing.maps.compare import AGREEMENT_K, MAX_COMPARED, aligned, knn_agreement, reencode_plan, sample
from indexing.lab import Lab
from indexing.model.zoo import AUTO
from indexing.maps.projection import Projection

OTHER_CHART = "compare-chart"  # + the other model's collection: a selection's indices belong to one model's map
BANDS = ["0–19 % shared", "20–39 % shared", "40–59 % shared", "60–79 % shared", "80–100 % shared"]
ABSENT = "not in this map"
SCHEME = Colouring(BANDS[::-1] + [ABSENT], {**sequential(BANDS[::-1]).colours, ABSENT: "#c8c8c8"})


@st.cache_data(show_spinner="Comparing neighbourhoods…", max_entries=8)
def _agreement(_a: Lab, _b: Lab, key_a: str, version_a: str, key_b: str, version_b: str) -> tuple[np.ndarray, ...]:
    records_a, vectors_a = _a.vectors()
    records_b, vectors_b = _b.vectors()
    ia, ib = sample(*aligned(records_a, records_b))
    return ia, ib, knn_agreement(vectors_a[ia], vectors_b[ib], AGREEMENT_K)


def band(share: float) -> str:
    return BANDS[min(4, int(round(share * 100)) // 20)]


@dataclass
class Comparison:
    """The other model's lab and map, and the items both models hold (``ia`` here, ``ib`` there) with the share
    of nearest neighbours they agree on."""

    other: Lab
    projection: Projection
    ia: np.ndarray
    ib: np.ndarray
    shared: np.ndarray


def comparison(lab: Lab) -> Comparison | None:
    """Pick another model; offer to encode the items it lacks (a background ingest with progress). None, with a
    line saying why, while there is nothing to compare yet."""
    here = st.session_state.get(Keys.ACTIVE_MODEL)
    # not "auto" (a rule, not a model) and not this map's own model under another name
    options = [m for m in model_options() if m not in (here, AUTO) and Path(m).stem != lab.spec.name]
    if not options:
        st.info("No other model is configured to compare with (set SIMLAB_MODEL to one).")
        return None
    other_name = st.selectbox("Other model", options, key="compare-model")
    try:
        other = open_cached_lab(other_name)
    except LabUnavailable as exc:
        st.warning(md_escape(f"“{other_name}” cannot be used here: {str(exc).split('. Loadable here')[0]}."))
        return None
    if other.store.name == lab.store.name:
        st.info("That is the model this map already uses; pick another.")
        return None
    records, _ = lab.vectors()
    other_ids = {r.id for r in other.vectors()[0]}
    missing = [r for r in records if r.id not in other_ids]
    ending = f"re-encoded under {other.spec.label}"
    if running_progress(ending):
        st.caption("Encoding under the other model; the comparison updates when it is done.")
        return None
    if missing:
        st.caption(md_escape(f"{len(missing):,} of the {len(records):,} items are not encoded under "
                             f"{other.spec.label} yet."))
        if st.button(md_escape(f"Encode them under {other.spec.label}"), key="compare-encode"):
            start_ingest(other, f"{len(missing):,} items {ending}", reencode_plan(missing, lab.blobs, lab.spec.label))
            st.rerun()
    ia, ib, shared = _agreement(lab, other, cache_key(lab), lab.version(), cache_key(other), other.version())
    if len(ia) < 3:
        st.caption("Fewer than 3 items are encoded under both models: nothing to compare yet.")
        return None
    projection, _ = collection_map(other, current_params(), 0)  # never starts a refit of the other model's map
    return Comparison(other, projection, ia, ib, shared)


def _chart_key(comp: Comparison) -> str:
    return f"{OTHER_CHART}-{comp.other.store.name}"


def selected_there(comp: Comparison) -> list[int]:
    """The items selected on the other model's map, as indices into this map's records (the link back)."""
    picked = selected_indices(st.session_state.get(_chart_key(comp)), comp.projection.coords)
    here = dict(zip(comp.ib.tolist(), comp.ia.tolist()))
    return [here[j] for j in picked if j in here]


def other_map(comp: Comparison, picked: list[int]) -> None:
    """The other model's map, coloured by neighbourhood agreement, with this map's selection ringed; selecting
    on it selects the same items on this map."""
    k = min(AGREEMENT_K, len(comp.ia) - 1)
    sampled = f"a sample of {len(comp.ia):,}" if len(comp.ia) == MAX_COMPARED else f"{len(comp.ia):,}"
    st.metric(f"Share of each item's {k} nearest neighbours that both models have (mean over {sampled} items)",
              f"{float(comp.shared.mean()):.0%}")
    other_records = comp.other.vectors()[0]
    colours = [ABSENT] * len(other_records)
    for j, s in zip(comp.ib, comp.shared):
        colours[j] = band(float(s))
    there = dict(zip(comp.ia.tolist(), comp.ib.tolist()))
    ringed = [there[i] for i in picked if i in there]
    flat = comp.projection.coords.shape[1] == 2
    fig = map_figure(comp.projection.coords, other_records, colours, scheme=SCHEME, linked=ringed, legend_below=True)
    st.plotly_chart(fig, key=_chart_key(comp), on_select="rerun", selection_mode=("points", "box", "lasso"))
    st.caption(md_escape(f"{comp.other.spec.label}: each item coloured by the share of its {k} nearest neighbours "
                         f"that this model also has among its {k}"
                         + ("" if not flat else
                            f"; the {len(ringed)} item{'s' if len(ringed) > 1 else ''} selected on the left "
                            f"{'are' if len(ringed) > 1 else 'is'} ringed in red." if ringed
                            else "; select points on either map to see where they land on the other.")))
