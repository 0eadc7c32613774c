"""Export judgments (qrels, runs, JSONL, CSV) and import qrels, with every bad line reported."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from components.safe_text import md_escape
from components.progress_bar import progress_bar
from indexing.labels.label_store import LabelStore
from indexing.labels.trec import import_qrels, judgments_csv, judgments_jsonl, qrels_text, run_text


def export_buttons(labels: LabelStore, runs: dict) -> None:
    """Downloads made when clicked, from the store as it is then: judgments made since the page last ran
    (the judging card reruns alone) are in them."""
    cols = st.columns(4)
    cols[0].download_button("qrels", lambda: qrels_text(labels.qrels()), "simlab.qrels", "text/plain",
                            key="dl-qrels", on_click="ignore")
    cols[1].download_button("run files", lambda: "".join(run_text(r, m) for m, r in sorted(runs.items())),
                            "simlab.run", "text/plain", key="dl-run", on_click="ignore")
    cols[2].download_button("judgments (JSONL)", lambda: judgments_jsonl(labels.judgments()), "judgments.jsonl",
                            "application/jsonl", key="dl-jsonl", on_click="ignore")
    cols[3].download_button("judgments (CSV)", lambda: judgments_csv(labels.judgments()), "judgments.csv",
                            "text/csv", key="dl-csv", on_click="ignore")


def import_qrels_form(labels: LabelStore, known_items: set[str]) -> None:
    with st.expander("Import TREC qrels"):
        upload = st.file_uploader("qrels file (qid 0 docid rel)", key="qrels-upload")
        annotator = st.text_input("Record them as annotator", "import", key="qrels-annotator")
        if upload and st.button("Import", key="qrels-import"):
            report = import_qrels(upload.getvalue(), labels, known_items, annotator or "import",
                                  progress_bar("Importing judgments"))
            summary = (f"Imported {report.imported:,} judgments; new queries: {len(report.new_queries):,}; "
                       f"lines refused: {len(report.errors):,}.")
            if report.stopped:
                st.error(md_escape(f"{report.stopped} {summary}"))
            elif report.imported == 0:
                st.error("Nothing was imported: every line was refused (reasons below).")
            elif report.errors:
                st.warning(summary)
            else:
                st.success(summary)
            if report.errors:
                st.dataframe(pd.DataFrame(report.errors, columns=["line", "reason"]), hide_index=True)
