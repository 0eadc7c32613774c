"""Put a query's results on the collection's map (the Map page's fit and parameters)."""
from __future__ import annotations

import streamlit as st

from components.map.data import collection_map
from components.map.figure import Overlay, colour_values, map_figure
from components.map.status import map_status
from components.map.view import current_params
from components.map.palette import Colouring
from components.state import MapKeys as K
from indexing.lab import Lab
from indexing.maps.projection import Projection, locate
from indexing.query.runner import Results


def overlay_of(results: Results, projection: Projection, label: str) -> Overlay:
    """The query's marker (on its own point for an item query) and its main method's top results."""
    coords = locate(results.exclude, projection.coords, results.placement_scores())
    return Overlay(label, coords, results.top[results.main], results.scores())


def map_with_query(lab: Lab, results: Results, label: str, colours: list[str] | None = None,
                   scheme: Colouring | None = None, key: str = "overlay", values=None, value_title: str = "") -> None:
    """Draw the map with the query placed among its neighbours; colours default to the item kind, or
    ``values`` (one number per item) on a sequential scale with a colour bar."""
    records = results.snapshot.records
    projection, state = collection_map(lab, current_params(), st.session_state[K.REFIT])
    map_status(lab, projection, state)
    colours = colour_values(records, "kind") if colours is None else colours
    st.plotly_chart(map_figure(projection.coords, records, colours, overlay_of(results, projection, label),
                               scheme=scheme, values=values, value_title=value_title), key=key)
