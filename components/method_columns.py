"""Results of several methods side by side: each result with its score and its rank under the others."""
from __future__ import annotations

import streamlit as st

from components.cards import item_card
from indexing.blobs import Blobs
from indexing.rich_queries import RichResult
from indexing.store import Record


def method_columns(result: RichResult, records: list[Record], blobs: Blobs, labels: dict[str, str],
                   per_column: int = 6, key: str = "m", score_names: dict[str, str] | None = None) -> None:
    methods = list(result.results)
    for col, method in zip(st.columns(len(methods)), methods):
        with col:
            st.markdown(f"**{labels.get(method, method)}**")
            r = result.results[method]
            for i, score in list(zip(r.top, r.scores))[:per_column]:
                item_card(records[i].with_score(score), blobs, key_prefix=f"{key}-{method}",
                          score_name=(score_names or {}).get(method, "score"))
                others = ", ".join(f"{labels.get(m, m)} #{int(result.ranks[m][i])}" for m in methods if m != method)
                st.caption(f"rank elsewhere: {others}")


def rank_moves(result: RichResult, method: str, records: list[Record], base: str = "image",
               n: int = 12) -> list[dict]:
    """How each of a method's top results moved relative to the plain (``base``) ranking."""
    rows = []
    for new_rank, i in enumerate(result.results[method].top[:n], start=1):
        old = int(result.ranks[base][i])
        rows.append({"item": records[i].name or records[i].text, "rank": new_rank, "plain rank": old,
                     "moved": old - new_rank})
    return rows
