"""A few CSS rules of ours (never user text): words wrap whole in narrow cards, cards in a row share a height."""
from __future__ import annotations

import streamlit as st

CSS = """<style>
/* Streamlit's st.text breaks anywhere, so narrow cards split words ("backgroun d"); wrap whole words. */
[data-testid="stText"] span { word-break: normal; overflow-wrap: break-word; }
/* A row of cards: each fills its column, so a grid's rows line up instead of going ragged. */
[data-testid="stColumn"] > [data-testid="stVerticalBlock"] { height: 100%; }
[data-testid="stColumn"] > [data-testid="stVerticalBlock"] > [data-testid="stLayoutWrapper"]:only-child { flex: 1; }
[data-testid="stColumn"] > [data-testid="stVerticalBlock"] > [data-testid="stLayoutWrapper"]:only-child
  > [data-testid="stVerticalBlock"] { height: 100%; }
</style>"""


def apply_css() -> None:
    st.html(CSS)
