"""The result of an ingest: counts, and every failure with its source and reason (as data, never HTML)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from components.plain import md_escape


def ingest_summary(summary: dict) -> None:
    if summary.get("stopped"):
        st.error(md_escape(summary["stopped"]))
    cols = st.columns(5)
    for col, (label, key) in zip(cols, [("Added", "added"), ("Skipped (duplicates)", "skipped"),
                                        ("Failed", "failed"), ("Blank lines", "blank"),
                                        ("Truncated texts", "truncated")]):
        col.metric(label, summary[key])
    if summary["errors"]:
        st.dataframe(pd.DataFrame(summary["errors"], columns=["source", "reason"]), hide_index=True,
                     width="stretch")
    if summary.get("notes"):
        with st.expander(f"Notes: {len(summary['notes'])} (texts cut, fields renamed, empty files)"):
            st.dataframe(pd.DataFrame(summary["notes"], columns=["source", "note"]), hide_index=True, width="stretch")
    duplicates = summary.get("duplicates") or []
    if duplicates:
        more = summary["skipped"] - len(duplicates)
        with st.expander(f"Skipped as duplicates (already stored, or repeated in this upload): {summary['skipped']}"
                         + (f" — the first {len(duplicates)} listed" if more > 0 else "")):
            st.dataframe(pd.DataFrame({"source": duplicates}), hide_index=True, width="stretch")
