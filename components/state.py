"""Every ``st.session_state`` key the app uses, in one place, with their initial values."""
from __future__ import annotations

import streamlit as st


class Keys:
    MODEL = "model_choice"  # persists across pages (widget keys are dropped on page switch)
    MODEL_WIDGET = "model_widget"
    QUERY_MODE = "query_mode"
    QUERY_TEXT = "query_text"
    QUERY_ITEM = "query_item"
    QUERY_IMAGE = "query_image"
    K = "k"
    KIND = "kind_filter"
    META_FIELD = "meta_field"
    META_VALUES = "meta_values"
    UPLOADS = "uploads"
    UPLOADER_GEN = "uploader_generation"
    INGEST_BUTTON = "ingest_button"
    DEMO_N = "demo_n"
    DEMO_BUTTON = "demo_button"
    LAST_SUMMARY = "last_summary"


QUERY_MODES = ("Text", "Image", "Item")

DEFAULTS = {
    Keys.QUERY_MODE: "Text",
    Keys.QUERY_TEXT: "",
    Keys.QUERY_ITEM: "",
    Keys.K: 12,
    Keys.KIND: "any",
    Keys.DEMO_N: 500,
    Keys.UPLOADER_GEN: 0,
    Keys.LAST_SUMMARY: None,
}


def init_state() -> None:
    """Set every key that is not set yet (call at the top of each page)."""
    for key, value in {**DEFAULTS, **MapKeys.DEFAULTS}.items():
        st.session_state.setdefault(key, value)


class MapKeys:
    """Map page keys; the ones in ``URL`` are mirrored to the address bar so a link reproduces the view."""

    QUERY = "map_q"
    ITEM = "map_item"
    COLOUR = "map_colour"
    SELECTED = "map_sel"
    NEIGHBORS = "map_nn"
    MIN_DIST = "map_md"
    DIMS = "map_dims"
    SAMPLE = "map_sample"
    K = "map_k"
    REFIT = "map_refit_token"
    CHART = "map_chart"

    URL = {QUERY: str, ITEM: str, COLOUR: str, SELECTED: str, NEIGHBORS: int, MIN_DIST: float, DIMS: int,
           SAMPLE: int, K: int}
    DEFAULTS = {QUERY: "", ITEM: "", COLOUR: "kind", SELECTED: "", NEIGHBORS: 15, MIN_DIST: 0.1, DIMS: 2,
                SAMPLE: 10_000, K: 10, REFIT: 0}
