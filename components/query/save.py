"""'Save this query': name it and store its spec for labelling (an uploaded image is kept on save only)."""
from __future__ import annotations

import streamlit as st

from components.safe_text import md_escape
from indexing.lab import Lab
from indexing.labels.label_store import LabelError, LabelStore
from indexing.query.specs import QuerySpec


def save_query_button(lab: Lab, spec: QuerySpec, key: str) -> None:
    """A popover that saves ``spec`` under a name (default: the query's own words)."""
    with st.popover("Save query for labelling"):
        name = st.text_input("Name", spec.label, key=f"{key}-name")
        if st.button("Save", key=f"{key}-save"):
            try:
                saved = LabelStore(lab.settings.data_dir).save_query(name, spec)
            except LabelError as exc:
                st.error(md_escape(exc))
            else:
                st.success(f"Saved as {saved.qid}; judge it on the Label page.")
