"""Results of several methods side by side: each result with its score and its rank under the others."""
from __future__ import annotations

import streamlit as st

from components.cards import item_card
from components.why import Explainer
from indexing.store.blobs import Blobs
from indexing.query.runner import Results


def method_columns(results: Results, blobs: Blobs, labels: dict[str, str], per_column: int = 6, key: str = "m",
                   score_names: dict[str, str] | None = None, why: Explainer | None = None) -> None:
    methods = results.methods
    for col, method in zip(st.columns(len(methods)), methods):
        with col:
            st.markdown(f"**{labels.get(method, method)}**")
            for i, hit in zip(results.top[method][:per_column], results.hits(method)):
                item_card(hit, blobs, key_prefix=f"{key}-{method}", score_name=(score_names or {}).get(method, "score"),
                          why=why)
                others = ", ".join(f"{labels.get(m, m)} #{int(results.ranks(m)[i])}" for m in methods if m != method)
                st.caption(f"rank elsewhere: {others}")


def rank_moves(results: Results, method: str, base: str = "image", n: int = 12) -> list[dict]:
    """How each of a method's top results moved relative to the plain (``base``) ranking."""
    records = results.snapshot.records
    return [{"item": records[i].name or records[i].text, "rank": new_rank, "plain rank": int(results.ranks(base)[i]),
             "moved": int(results.ranks(base)[i]) - new_rank}
            for new_rank, i in enumerate(results.top[method][:n], start=1)]
