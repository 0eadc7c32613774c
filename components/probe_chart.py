"""The model check as a chart: each probe's accuracy as a bar, its chance rate as a mark on the same row."""
from __future__ import annotations

import plotly.graph_objects as go

BAR, CHANCE = "#2c7fb8", "#d95f02"


def probe_figure(rows: list[dict]) -> go.Figure:
    """Horizontal bars (accuracy) with chance marks; probes that rest on no case are left out."""
    rows = [r for r in rows if r["n"]]
    names = [r["probe"] for r in rows][::-1]
    fig = go.Figure()
    fig.add_bar(y=names, x=[r["accuracy"] for r in rows][::-1], orientation="h", name="model", marker_color=BAR,
                text=[f"{r['accuracy']:.2f} (n={r['n']})" for r in rows][::-1], textposition="outside",
                hovertemplate="%{y}: %{x:.3f}<extra></extra>")
    fig.add_scatter(y=names, x=[r["chance"] for r in rows][::-1], mode="markers", name="chance",
                    marker=dict(symbol="line-ns-open", size=22, color=CHANCE, line=dict(width=3, color=CHANCE)),
                    hovertemplate="chance %{x:.3f}<extra></extra>")
    fig.update_layout(xaxis=dict(range=[0, 1.15], title="accuracy", tickvals=[0, 0.25, 0.5, 0.75, 1]),
                      height=90 + 34 * len(rows), margin=dict(l=10, r=10, t=30, b=40),
                      legend=dict(orientation="h", x=1, xanchor="right", y=1.0, yanchor="bottom"), bargap=0.35)
    return fig
