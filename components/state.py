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
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)
