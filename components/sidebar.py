"""The sidebar on every page: model picker and what is active, and why."""
from __future__ import annotations

import streamlit as st

from components.access import require_access
from components.resources import get_lab
from components.state import Keys, init_state
from indexing.lab import Lab
from indexing.models import AUTO, BUNDLED_NAME, PRETRAINED_NAME
from indexing.settings import load_settings


def model_options() -> list[str]:
    """The configured model first, then the bundled one and the standard pretrained one."""
    options = [load_settings().model, AUTO, BUNDLED_NAME, PRETRAINED_NAME]
    return list(dict.fromkeys(options))


def _remember_model() -> None:
    st.session_state[Keys.MODEL] = st.session_state[Keys.MODEL_WIDGET]


def sidebar() -> Lab:
    """Draw the sidebar and return the lab for the chosen model (stops the page if it cannot load)."""
    init_state()
    require_access()
    options = model_options()
    chosen = st.session_state.get(Keys.MODEL) or options[0]
    with st.sidebar:
        st.selectbox("Model", options, index=options.index(chosen) if chosen in options else 0,
                     key=Keys.MODEL_WIDGET, on_change=_remember_model,
                     help="An open_clip model. 'auto' uses pretrained ViT-B-32 when its weights are cached or "
                          "downloadable, else the bundled offline simlab-shapes model.")
        st.session_state[Keys.MODEL] = st.session_state[Keys.MODEL_WIDGET]
        lab = get_lab(st.session_state[Keys.MODEL])
        st.caption("Active model")
        st.text(lab.spec.label)
        st.caption(lab.spec.reason)
        st.caption("Store")
        st.text(lab.settings.store_location)
    return lab
