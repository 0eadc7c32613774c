"""Metrics per method from the judgments so far, as a table and a chart, plus annotator agreement."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from indexing.labels.judging import split_run_name
from indexing.labels.metrics import METRICS, agreement, evaluate_run


def metrics_tables(runs: dict, qrels: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(averages per run, values per saved query and run); a run is one algorithm, named ``family/method``,
    and the rows are grouped by family."""
    rows, per_query = [], []
    for name, run in sorted(runs.items()):
        m = evaluate_run(name, run, qrels)
        family, method = split_run_name(name)
        rows.append({"family": family, "method": method, **{k: round(v, 4) for k, v in m.mean.items()},
                     "judged queries": len(m.per_query),
                     # over the judged queries only: a query nobody judged yet says nothing about this method
                     "unjudged in top 10": sum(n for q, n in m.unjudged_top10.items() if q in m.per_query)})
        per_query += [{"query": q, "family": family, "method": method, **{k: round(v, 4) for k, v in values.items()},
                       "unjudged in top 10": m.unjudged_top10.get(q, 0)} for q, values in sorted(m.per_query.items())]
    return (pd.DataFrame(rows, columns=["family", "method", *METRICS, "judged queries", "unjudged in top 10"]),
            pd.DataFrame(per_query, columns=["query", "family", "method", *METRICS, "unjudged in top 10"]))


def metrics_panel(runs: dict, qrels: dict, judgments, not_run: list[str] = ()) -> None:
    """The metrics table (rows grouped by query family), per query, a chart with one series per algorithm,
    the saved queries that could not be run, and annotator agreement."""
    if not_run:
        with st.expander(f"{len(not_run)} saved quer{'y' if len(not_run) == 1 else 'ies'} could not be run and "
                         "are left out of the metrics"):
            for note in not_run:
                st.text(note)
    table, per_query = metrics_tables(runs, qrels)
    if table.empty or not table["judged queries"].any():
        st.info("No judgments yet: judge some results to see metrics.")
        return
    st.dataframe(table, hide_index=True, width="stretch")
    st.caption("One row per algorithm: a query family (neighbours, compose, condition) and its method. Unjudged "
               "items count as not relevant in these figures; the last column says how many there are.")
    with st.expander("Per saved query"):
        st.dataframe(per_query, hide_index=True, width="stretch")
    table = table.assign(run=table["family"] + "/" + table["method"])
    long = table.melt(id_vars="run", value_vars=list(METRICS), var_name="metric", value_name="value")
    # Vega-Lite draws it in the browser; a plotly figure cost the server ~20 ms per rerun of this page.
    st.bar_chart(long, x="metric", y="value", color="run", stack=False, horizontal=True)  # names stay readable
    pairs = agreement(judgments)
    if pairs:
        st.dataframe(pd.DataFrame([{"annotators": f"{a} · {b}", "shared pairs": v["pairs"],
                                    "Cohen's kappa": round(v["kappa"], 3)} for (a, b), v in pairs.items()]),
                     hide_index=True)
