"""Metrics per method from the judgments so far, as a table and a chart, plus annotator agreement."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from indexing.metrics import METRICS, agreement, evaluate_run


def metrics_tables(runs: dict, qrels: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(averages per method, values per saved query and method)."""
    rows, per_query = [], []
    for method, run in sorted(runs.items()):
        m = evaluate_run(method, run, qrels)
        rows.append({"method": method, **{k: round(v, 4) for k, v in m.mean.items()},
                     "judged queries": len(m.per_query),
                     # over the judged queries only: a query nobody judged yet says nothing about this method
                     "unjudged in top 10": sum(n for q, n in m.unjudged_top10.items() if q in m.per_query)})
        per_query += [{"query": q, "method": method, **{k: round(v, 4) for k, v in values.items()},
                       "unjudged in top 10": m.unjudged_top10.get(q, 0)} for q, values in sorted(m.per_query.items())]
    return (pd.DataFrame(rows, columns=["method", *METRICS, "judged queries", "unjudged in top 10"]),
            pd.DataFrame(per_query, columns=["query", "method", *METRICS, "unjudged in top 10"]))


def metrics_panel(runs: dict, qrels: dict, judgments) -> None:
    table, per_query = metrics_tables(runs, qrels)
    if table.empty or not table["judged queries"].any():
        st.info("No judgments yet: judge some results to see metrics.")
        return
    st.dataframe(table, hide_index=True, width="stretch")
    st.caption("Unjudged items count as not relevant in these figures; the last column says how many there are.")
    with st.expander("Per saved query"):
        st.dataframe(per_query, hide_index=True, width="stretch")
    long = table.melt(id_vars="method", value_vars=list(METRICS), var_name="metric", value_name="value")
    # Vega-Lite draws it in the browser; a plotly figure cost the server ~20 ms per rerun of this page.
    st.bar_chart(long, x="metric", y="value", color="method", stack=False, horizontal=True)  # names stay readable
    pairs = agreement(judgments)
    if pairs:
        st.dataframe(pd.DataFrame([{"annotators": f"{a} · {b}", "shared pairs": v["pairs"],
                                    "Cohen's kappa": round(v["kappa"], 3)} for (a, b), v in pairs.items()]),
                     hide_index=True)
