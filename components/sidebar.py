"""The sidebar on every page: model picker and what is active, and why."""
from __future__ import annotations

import streamlit as st

from components.access import require_access
from components.safe_text import md_escape
from components.resources import LabUnavailable, check_store, get_lab, open_cached_lab
from components.state import Keys, init_state
from components.theme import apply_css
from components.why import method_picker
from indexing.lab import Lab
from indexing.model.zoo import AUTO, BUNDLED_NAME, PRETRAINED_NAME
from indexing.core.settings import load_settings


def model_options() -> list[str]:
    """The configured model first, then the bundled one and the standard pretrained one."""
    options = [load_settings().model, AUTO, BUNDLED_NAME, PRETRAINED_NAME]
    return list(dict.fromkeys(options))


def _remember_model() -> None:
    st.session_state[Keys.MODEL] = st.session_state[Keys.MODEL_WIDGET]


def _choose() -> Lab:
    """The lab for the picked model; if it cannot load, stay on the one that was active and say why."""
    chosen = st.session_state[Keys.MODEL]
    try:
        lab = open_cached_lab(chosen)
    except LabUnavailable as exc:
        active = st.session_state.get(Keys.ACTIVE_MODEL)
        if active is None or active == chosen:
            return get_lab(chosen)  # nothing to fall back on: the error stops the page
        st.session_state[Keys.MODEL_NOTICE] = (
            f"“{chosen}” cannot be used here, so SimLab stays on “{active}”. Pick “{BUNDLED_NAME}” to work "
            f"offline; models with downloadable weights work once this machine can reach the model hub (their "
            f"weights are cached after the first download). Details: {str(exc).split('. Loadable here')[0]}.")
        st.session_state[Keys.MODEL] = active
        st.rerun()  # draws the picker again, showing the model that is active
    st.session_state[Keys.ACTIVE_MODEL] = chosen
    return check_store(lab)


def _use_app_navigation() -> None:
    """Make a deep link (``/Map``) the first request after a server start go through ``app.py``.

    Streamlit (pinned in requirements.txt) runs a page straight from ``pages/`` in its old multipage mode
    until some run has called ``st.navigation``; that page then shows the old navigation ("app" first,
    no icons). Leaving that mode once and rerunning puts ``app.py``'s navigation in force for everyone.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def sidebar() -> Lab:
    """Draw the sidebar and return the lab for the chosen model (stops the page if none can load)."""
    _use_app_navigation()
    apply_css()
    init_state()
    require_access()
    options = model_options()
    chosen = st.session_state.get(Keys.MODEL)
    if st.session_state.get(Keys.MODEL_WIDGET) != chosen or chosen not in options:
        # A new page (widget keys are dropped on page switch) or a failed pick: show the model in force.
        st.session_state[Keys.MODEL_WIDGET] = chosen if chosen in options else options[0]
    with st.sidebar:
        st.selectbox("Model", options, key=Keys.MODEL_WIDGET, on_change=_remember_model,
                     help="An open_clip model. 'auto' uses pretrained ViT-B-32 when its weights are cached or "
                          "downloadable, else the bundled offline simlab-shapes model.")
        st.session_state[Keys.MODEL] = st.session_state[Keys.MODEL_WIDGET]
    lab = _choose()
    if notice := st.session_state.pop(Keys.MODEL_NOTICE, None):
        st.warning(md_escape(notice))
    with st.sidebar:
        st.caption("Active model")
        st.text(lab.spec.label)
        st.caption(lab.spec.reason)
        st.caption("Store")
        st.text(lab.settings.store_location)
        method_picker()
    return lab
