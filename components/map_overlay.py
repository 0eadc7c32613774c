"""Put any query vector on the collection's map (the Map page's fit and parameters), with its top-k."""
from __future__ import annotations

import numpy as np
import streamlit as st

from components.map_data import collection_map
from components.map_figure import Overlay, colour_values, map_figure
from components.map_status import map_status
from components.map_view import current_params
from components.palette import Colouring
from components.state import MapKeys as K
from indexing.lab import Lab
from indexing.projection import place


def map_with_query(lab: Lab, query: np.ndarray, label: str, top: list[int], scores: list[float],
                   colours: list[str] | None = None, scheme: Colouring | None = None, key: str = "overlay") -> None:
    """Draw the map with the query placed among its neighbours; colours default to the item kind."""
    records, vectors = lab.vectors()
    projection, state = collection_map(lab, current_params(), st.session_state[K.REFIT])
    map_status(lab, projection, state)
    coords = place(query[None, :], vectors, projection.coords)[0]
    colours = colour_values(records, "kind") if colours is None else colours
    fig = map_figure(projection.coords, records, colours, Overlay(label, coords, top, scores), scheme=scheme)
    st.plotly_chart(fig, key=key)
