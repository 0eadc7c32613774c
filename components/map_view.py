"""Map controls (query, colour, UMAP parameters, refit), selection handling and CSV export."""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import streamlit as st

from components.state import MapKeys as K
from indexing.projection import MapParams
from indexing.store import Record
from indexing.trec import safe_cell

def _refit() -> None:
    st.session_state[K.REFIT] += 1


def colour_fields(records: Sequence[Record]) -> list[str]:
    fields = sorted({k for r in records for k in r.metadata})
    return ["kind", "cluster"] + fields


def map_controls(records: Sequence[Record]) -> MapParams:
    """Query and colour above the map; projection parameters in an expander. Returns the parameters."""
    c1, c2, c3, c4 = st.columns([3, 2, 2, 1])
    c1.text_input("Put a text on the map", key=K.QUERY, placeholder="a red circle")
    c2.text_input("…or an item id", key=K.ITEM)
    fields = colour_fields(records)
    if st.session_state[K.COLOUR] not in fields:
        st.session_state[K.COLOUR] = "kind"
    c3.selectbox("Colour by", fields, key=K.COLOUR)
    c4.number_input("k", 1, 100, key=K.K)
    with st.expander("Projection"):
        p1, p2, p3, p4, p5 = st.columns(5)
        p1.slider("n_neighbors", 2, 100, key=K.NEIGHBORS)
        p2.slider("min_dist", 0.0, 1.0, step=0.05, key=K.MIN_DIST)
        p3.radio("Dimensions", [2, 3], key=K.DIMS, horizontal=True)
        p4.number_input("Fit sample", 100, 200_000, step=1000, key=K.SAMPLE,
                        help="Large collections are fitted on a sample; the rest are placed from neighbours.")
        p5.button("Refit", on_click=_refit, help="Fit again on everything, including items added since.")
    return current_params()


def current_params() -> MapParams:
    """The map parameters in session state (shared by the Map page and every map overlay)."""
    return MapParams(n_neighbors=int(st.session_state[K.NEIGHBORS]), min_dist=float(st.session_state[K.MIN_DIST]),
                     dims=int(st.session_state[K.DIMS]), sample=int(st.session_state[K.SAMPLE]))


def selected_indices(event) -> list[int]:
    """Indices (into the map's records) of the points a plotly selection event holds."""
    points = (getattr(event, "selection", None) or {}).get("points", []) if event else []
    out = []
    for p in points:
        data = p.get("customdata")
        if isinstance(data, list):
            data = data[0] if data else None
        if data is not None:
            out.append(int(data))
    return list(dict.fromkeys(out))


def selection_csv(records: Sequence[Record]) -> str:
    """Selected items as CSV; cells that a spreadsheet would run as formulas are made inert."""
    fields = sorted({k for r in records for k in r.metadata})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "kind", "name", "text"] + fields)
    for r in records:
        writer.writerow([safe_cell(v) for v in [r.id, r.kind, r.name, r.text or ""] + [r.metadata.get(f) for f in fields]])
    return out.getvalue()
