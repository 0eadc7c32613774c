"""Label page panels: how well the relevance cut-off is calibrated, and the adapters learned from judgments."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from components.label.fitted import adapter_names, cutoff, train_and_save
from components.safe_text import md_escape
from indexing.query import adapter as adapters
from indexing.core.errors import plural
from indexing.lab import Lab


def reliability_figure(diagram: list[dict]) -> go.Figure:
    """Predicted vs observed relevance per probability bin; the diagonal is perfect calibration."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated",
                             line={"color": "#9e9e9e", "dash": "dash"}))
    fig.add_trace(go.Scatter(x=[b["predicted"] for b in diagram], y=[b["observed"] for b in diagram],
                             mode="lines+markers", name="held-out queries", line={"color": "#1f77b4"},
                             marker={"size": [6 + min(b["items"], 60) / 4 for b in diagram], "color": "#1f77b4"},
                             text=[f"{b['items']} judgments" for b in diagram], hovertemplate="%{text}"))
    fig.update_layout(height=320, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      xaxis={"title": "predicted P(relevant)", "range": [-0.03, 1.03]},
                      yaxis={"title": "observed share relevant", "range": [-0.03, 1.05]})
    return fig


def cutoff_panel(lab: Lab, method: str) -> None:
    """The cut-off of the current query's main method: reliability diagram and ECE, or what it still needs."""
    with st.expander(f"Relevance cut-off ({method})"):
        level = st.selectbox("Relevant means grade at least (for this diagram; the pages' cut-off uses 1)",
                             [1, 2, 3], key="cutoff-level")
        report = cutoff(lab, method, level)
        if isinstance(report, str):
            st.info(md_escape(report))
            return
        cal = report.calibrator
        version = lab.version()
        st.caption(f"Fitted on {plural(cal.judgments, 'judgment')} over {plural(cal.queries, 'query', 'queries')}, "
                   f"with the collection at {int(version.rsplit(':', 1)[-1]):,} items (version {version}). It is "
                   "fitted again only when a judgment or the collection changes: the saved queries are then run "
                   "again, and new items in their rankings move these figures.")
        if report.ece is None:
            st.caption(f"Fitted on {cal.judgments} judgments over {cal.queries} queries; too few queries to hold "
                       "some out, so no calibration error yet.")
            return
        st.caption(f"Expected calibration error **{report.ece:.3f}**, measured on queries held out of each fit "
                   f"({min(5, cal.queries)}-fold over {cal.queries} queries: {report.held_out} of {cal.judgments} "
                   "judgments predicted by a fit that never saw their query).")
        st.plotly_chart(reliability_figure(report.diagram), key="reliability")


def adapter_panel(lab: Lab) -> None:
    """Train an adapter on every judged query, see the saved ones, drop one."""
    with st.expander("Adapter (a similarity learned from these judgments)"):
        st.caption("A low-rank residual on the embeddings, trained on every judged query (a more relevant item "
                   "should score higher). Its row in the metrics above is measured on held-out queries only; "
                   "pick a saved adapter on the Neighbours page.")
        c1, c2 = st.columns([2, 1])
        name = c1.text_input("Name", "my-relevance", key="adapter-name")
        if c2.button("Train and save", key="adapter-train"):
            st.session_state["adapter-note"] = train_and_save(lab, name.strip())
        if note := st.session_state.pop("adapter-note", None):
            st.caption(md_escape(note))
        for saved_name, meta in adapters.saved(lab.settings.data_dir, lab.store.name).items():
            a, b = st.columns([3, 1])
            a.text(adapters.description(saved_name, meta))
            b.button("Drop", key=f"adapter-drop-{saved_name}", on_click=adapters.drop,
                     args=(lab.settings.data_dir, lab.store.name, saved_name))
        if not adapter_names(lab):
            st.caption("No adapter saved yet.")
