"""Share a view through the URL: session keys mirrored to ``st.query_params`` (read once per session)."""
from __future__ import annotations

import streamlit as st

_LOADED = "_url_state_loaded"


def load_from_url(keys: dict[str, type]) -> None:
    """On a session's first run, copy URL parameters into session state (converted to each key's type)."""
    if st.session_state.get(_LOADED):
        return
    st.session_state[_LOADED] = True
    for key, kind in keys.items():
        if key in st.query_params:
            try:
                st.session_state[key] = kind(st.query_params[key])
            except ValueError:
                pass  # a hand-edited URL with a bad value keeps the default


def save_to_url(keys: dict[str, type]) -> None:
    """Mirror the current values to the URL, dropping empty ones."""
    values = {k: str(st.session_state[k]) for k in keys if st.session_state.get(k) not in (None, "")}
    for k in list(st.query_params):
        if k in keys and k not in values:
            del st.query_params[k]
    st.query_params.update(values)
