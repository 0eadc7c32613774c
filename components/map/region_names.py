"""The vocabulary that names the map's regions: shown, edited and saved per collection."""
from __future__ import annotations

import streamlit as st

from components.map.data import region_terms
from components.safe_text import md_escape
from indexing.maps.names import MAX_TERM_CHARS, save_terms
from indexing.lab import Lab


def region_vocabulary_editor(lab: Lab, key: str = "region-vocab") -> None:
    """An expander with the terms (one per line), Save and Back to the default."""
    terms, origin = region_terms(lab)
    saved = origin == "saved"
    if origin not in ("saved", "default"):
        st.warning(md_escape(origin))  # the saved vocabulary is unreadable: the default names the regions
    with st.expander(f"Region names: vocabulary ({len(terms):,} terms, {'saved' if saved else 'default'})"):
        st.caption("Image regions are named by the two terms (of different metadata fields) whose text embeddings "
                   "best match their images; text regions by their most distinctive words. The default is the "
                   "collection's short metadata values plus a general list.")
        edited = st.text_area("Terms, one per line", "\n".join(terms), height=200, key=f"{key}-{lab.store.name}")
        if long := sum(len(t.strip()) > MAX_TERM_CHARS for t in edited.splitlines()):
            st.caption(f"{long} term(s) longer than {MAX_TERM_CHARS} characters are left out.")
        c1, c2 = st.columns(2)
        try:
            if c1.button("Save vocabulary", key=f"{key}-save"):
                save_terms(lab.settings.data_dir, lab.store.name, edited.splitlines())
                st.rerun()
            if saved and c2.button("Back to the default", key=f"{key}-reset"):
                save_terms(lab.settings.data_dir, lab.store.name, [])
                st.session_state.pop(f"{key}-{lab.store.name}", None)
                st.rerun()
        except OSError as exc:
            st.error(md_escape(f"Could not save the vocabulary: {exc}. The regions keep their current names."))
