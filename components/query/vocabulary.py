"""Edit the condition vocabulary: one line per attribute, 'attribute: value, value, …'."""
from __future__ import annotations

import streamlit as st

from indexing.query.condition import VOCABULARY


def format_vocabulary(vocabulary: dict[str, list[str]]) -> str:
    return "\n".join(f"{attr}: {', '.join(values)}" for attr, values in vocabulary.items())


def parse_vocabulary(text: str) -> dict[str, list[str]]:
    """Lines without a colon are ignored; empty values are dropped."""
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if ":" not in line:
            continue
        attr, values = line.split(":", 1)
        words = [v.strip() for v in values.split(",") if v.strip()]
        if attr.strip() and words:
            out[attr.strip().lower()] = words
    return out


def vocabulary_editor(key: str) -> dict[str, list[str]]:
    with st.expander("Vocabulary (the values each attribute can take)"):
        text = st.text_area("attribute: value, value, …", format_vocabulary(VOCABULARY), height=180, key=key)
    return parse_vocabulary(text)
