"""The result of an ingest: counts, what was added, skipped and failed (as data, never HTML)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from components.safe_text import md_escape

REPEATS = "the same content twice in this batch, stored once"
DEMO_REPEATS = "captions the generated demo world repeats (its generator writes some captions twice), stored once"


def ingest_summary(summary: dict, repeats: str = REPEATS) -> None:
    """Counts, then lists: failures (each with its reason), added items, skipped ones. ``repeats`` says what a
    repeat within the batch is, for this kind of ingest."""
    if summary.get("stopped"):
        st.error(md_escape(summary["stopped"]))
    repeated = summary.get("repeated", 0)
    counts = [("Added", summary["added"], None),
              ("Already stored", summary["skipped"] - repeated, "Skipped: the same content is stored already."),
              ("Repeated in batch", repeated, f"Skipped: {repeats}."),
              ("Failed", summary["failed"], None), ("Blank lines", summary["blank"], None),
              ("Truncated texts", summary["truncated"], None)]
    for col, (label, value, help_) in zip(st.columns(len(counts)), counts):
        col.metric(label, value, help=help_)
    if summary["errors"]:
        st.dataframe(pd.DataFrame(summary["errors"], columns=["source", "reason"]), hide_index=True,
                     width="stretch")
    if summary.get("notes"):
        with st.expander(f"Notes: {len(summary['notes'])} (texts cut, fields renamed, empty files)"):
            st.dataframe(pd.DataFrame(summary["notes"], columns=["source", "note"]), hide_index=True, width="stretch")
    _listed("Added", summary["added"], summary.get("added_sources") or [])
    if repeated:
        st.caption(md_escape(f"{repeated:,} repeated in this batch: {repeats}."))
    _listed("Skipped (already stored, or repeated in this batch)", summary["skipped"], summary.get("duplicates") or [])


def _listed(title: str, count: int, sources: list[str]) -> None:
    """An expander listing ``sources`` (the first of ``count``), as data."""
    if not sources:
        return
    more = count - len(sources)
    with st.expander(f"{title}: {count:,}" + (f" — the first {len(sources):,} listed" if more > 0 else "")):
        st.dataframe(pd.DataFrame({"source": sources}), hide_index=True, width="stretch")
