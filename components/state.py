"""Every ``st.session_state`` key the app uses, in one place, with their initial values."""
from __future__ import annotations

import streamlit as st

from components.url_state import UrlField
from indexing.query.specs import DEFAULT_K


class Keys:
    MODEL = "model_choice"  # persists across pages (widget keys are dropped on page switch)
    MODEL_WIDGET = "model_widget"
    ACTIVE_MODEL = "active_model"  # the last model that loaded: where a failed pick falls back to
    MODEL_NOTICE = "model_notice"  # why the last pick failed, shown once
    QUERY_MODE = "query_mode"
    QUERY_TEXT = "query_text"
    QUERY_ITEM = "query_item"
    QUERY_IMAGE = "query_image"
    K = "k"
    KIND = "kind_filter"
    META_FIELD = "meta_field"
    META_VALUES = "meta_values"
    ADAPTER = "adapter_choice"
    MATCH = "match_choice"  # Neighbours: whole images or any region
    PART_CHART = "part_chart"  # Neighbours: the picture a box is drawn on (search by region)
    UPLOADS = "uploads"
    UPLOADER_GEN = "uploader_generation"
    INGEST_BUTTON = "ingest_button"
    DEMO_N = "demo_n"
    DEMO_BUTTON = "demo_button"


QUERY_MODES = ("Text", "Image", "Item")
MATCH_MODES = {"whole image": "whole", "any region": "region"}

DEFAULTS = {
    Keys.QUERY_MODE: "Text",
    Keys.QUERY_TEXT: "",
    Keys.QUERY_ITEM: "",
    Keys.K: DEFAULT_K,
    Keys.KIND: "any",
    Keys.MATCH: "whole image",
    Keys.DEMO_N: 500,
    Keys.UPLOADER_GEN: 0,
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
    REGION = "map_region"  # a box or lasso selection, as text (``selection.region_text``)
    REFIT = "map_refit_token"
    CHART = "map_chart"
    HAD_SELECTION = "map_had_selection"
    REGION_EVENT = "map_region_event"  # the last box or lasso the chart sent (it repeats on every rerun)
    REGION_LAYOUT = "map_region_layout"  # the layout the kept region was drawn on
    REGION_IDS = "map_region_ids"  # the items the kept region selects (kept when a new layout resets the chart)
    LAST_QUERY = "map_last_query"  # the query last put on the map: a new one replaces the highlight
    NAMES = "map_names"  # draw the regions' names
    IMAGES = "map_images"  # draw thumbnails (every image of a small collection, else exemplars)
    COMPARE = "compare-on"  # a second model's map beside this one

    # The ranges are the widgets' own: a value outside them would make the widget raise.
    URL = {QUERY: UrlField(str), ITEM: UrlField(str), COLOUR: UrlField(str), SELECTED: UrlField(str),
           REGION: UrlField(str), NEIGHBORS: UrlField(int, 2, 100), MIN_DIST: UrlField(float, 0.0, 1.0),
           DIMS: UrlField(int, choices=(2, 3)), SAMPLE: UrlField(int, 100, 200_000), K: UrlField(int, 1, 100)}
    DEFAULTS = {QUERY: "", ITEM: "", COLOUR: "kind", SELECTED: "", REGION: "", NEIGHBORS: 15, MIN_DIST: 0.1,
                DIMS: 2, SAMPLE: 10_000, K: 10, REFIT: 0, HAD_SELECTION: False,
                NAMES: True, IMAGES: True, COMPARE: False}
