"""Who is judging: the signed-in account when sign-in is on; else a name asked once per browser session,
kept across pages (session state) and reloads (the Label page's URL), shown as "Judging as NAME · change"."""
from __future__ import annotations

import streamlit as st

from components.safe_text import md_escape
from indexing.labels.label_store import LabelError, checked_annotator
from indexing.core.settings import load_settings

NAME = "annotator"  # session state (not a widget key, so it outlives the page) and the URL parameter
WIDGET = "label-annotator"
PROBLEM = "annotator-problem"


def _signed_in() -> str | None:
    """The signed-in account's e-mail when sign-in is on (``require_access`` has let it in)."""
    if not load_settings().allowed_emails:
        return None
    try:
        return st.user.get("email") if st.user.get("is_logged_in", False) else None
    except Exception:  # no auth configured: require_access has stopped the page already
        return None


def _take_typed() -> None:
    """on_change of the name box: keep a valid name (the box then gives way to "Judging as …"), or say why not."""
    try:
        _keep(checked_annotator(st.session_state.get(WIDGET, "")))
    except LabelError as exc:
        st.session_state[PROBLEM] = str(exc)


def _keep(name: str) -> None:
    st.session_state[NAME] = name
    st.query_params[NAME] = name


def _change() -> None:
    st.session_state.pop(NAME, None)
    st.query_params.pop(NAME, None)


def annotator() -> str | None:
    """The name every judgment of this session is recorded under, or None while it is not given yet."""
    account = _signed_in()
    if account:
        st.caption(md_escape(f"Judging as {account} (signed in)"))
        return account
    name = st.session_state.get(NAME)
    if name is None and NAME in st.query_params:  # a reload: the name is in the Label page's URL
        try:
            _keep(name := checked_annotator(st.query_params[NAME]))
        except LabelError:
            st.query_params.pop(NAME, None)
    if name:
        st.query_params[NAME] = name  # back on the page after a visit elsewhere: a reload keeps it too
        c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
        c1.caption(md_escape(f"Judging as {name}"))  # escaped: a name is shown as typed, never as Markdown
        c2.button("change", key="annotator-change", on_click=_change, type="tertiary")
        return name
    st.text_input("Annotator", key=WIDGET, placeholder="your name, then Enter", on_change=_take_typed,
                  max_chars=200, help="Asked once per browser session; recorded with every judgment.")
    if problem := st.session_state.pop(PROBLEM, None):
        st.error(md_escape(problem))
    return None
