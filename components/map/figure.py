"""The map figure (plotly, WebGL): points coloured by a field, and an optional query overlay.

Hover labels are HTML-escaped: plotly renders a subset of HTML in them, and user text must stay text.
Above ``LABELLED_UP_TO`` points the figure carries coordinates only (no hover labels, no ids): a million points
are then 11.5 MB of JSON instead of over 60, pan and zoom stay in the browser, and a click finds its point by
position (``map_view.selected_indices``).
"""
from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from components.map.palette import Colouring, colouring
from indexing.store.chroma import Record

LABELLED_UP_TO = 200_000  # above: points carry no hover label or id (payload, see the module docstring)
LEGEND_CHARS = 32  # a legend entry's text: longer ones are cut (before escaping) so the plot keeps its width
MAX_CATEGORIES = 20  # more legend entries than this is noise; the rest share "other"
OTHER = "(other values)"


NAME_PX = (7.5, 18)  # a region name's character width and line height on screen, in pixels
PLOT_PX = (560, 580)  # about how large the map's plot area is drawn (two thirds of the page, less the legend)
NAME_GAP_PX = 3  # the least space left between two regions' names or pictures


@dataclass
class Regions:
    """Named regions to write on the map: where (each cluster's median position), what, and how many items.

    Only names that do not overlap a larger region's name are written (``readable``); all of them are
    listed under the map."""

    centres: np.ndarray
    names: list[str]
    sizes: list[int]
    picture: float = 0.0  # the side, in data units, of an exemplar picture drawn just above each name (0: none)

    @classmethod
    def of(cls, coords: np.ndarray, labels: np.ndarray, names: Sequence[str]) -> Regions:
        centres = np.array([np.median(coords[labels == c], axis=0) if (labels == c).any() else coords.mean(axis=0)
                            for c in range(len(names))], np.float32)
        return cls(centres, list(names), [int((labels == c).sum()) for c in range(len(names))])

    def readable(self, coords: np.ndarray) -> list[int]:
        """The regions whose names fit without overlapping, largest first (2-D: estimated screen boxes)."""
        order = sorted(range(len(self.names)), key=lambda c: -self.sizes[c])
        if coords.shape[1] != 2 or len(coords) == 0:
            return order
        span = np.maximum(coords.max(axis=0) - coords.min(axis=0), 1e-9)
        scale = np.array(PLOT_PX) / span  # pixels per data unit, x and y
        kept: list[int] = []
        boxes: list[tuple[float, float, float, float]] = []
        for c in order:
            x, y = self.centres[c][:2] * scale
            # The name hangs below the centre; its picture, if any, stands on it. One box holds both, with a
            # margin, so neither a name nor a picture is ever drawn over another region's.
            picture_w, picture_h = self.picture * scale
            half_w = max(len(self.names[c]) * NAME_PX[0], picture_w) / 2 + NAME_GAP_PX
            box = (x - half_w, y - NAME_PX[1] - NAME_GAP_PX, x + half_w, y + picture_h + NAME_GAP_PX)
            if all(box[2] < b[0] or b[2] < box[0] or box[3] < b[1] or b[3] < box[1] for b in boxes):
                kept.append(c)
                boxes.append(box)
        return kept


@dataclass
class Overlay:
    """A query placed on the map with its top-k neighbours (indices into the map's points)."""

    label: str
    coords: np.ndarray
    neighbours: list[int]
    scores: list[float]


def shortened(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis: cut before escaping, never inside an entity."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def hover_label(record: Record) -> str:
    text = record.text if record.kind == "text" else record.name
    text = (text or "")[:80]
    return html.escape(text)


def colour_values(records: Sequence[Record], field: str, cluster_labels: np.ndarray | None = None,
                  names: Sequence[str] | None = None) -> list[str]:
    """Each record's category for ``field``: 'kind', 'cluster' (with its name, when named) or a metadata key."""
    if field == "kind":
        return [r.kind for r in records]
    if field == "cluster" and cluster_labels is not None:
        return [f"{int(c)}: {names[int(c)]}" if names else f"cluster {int(c)}" for c in cluster_labels]
    return [str(r.metadata.get(field, "(none)")) for r in records]


def _bucket(values: list[str]) -> tuple[list[str], list[str]]:
    counts = Counter(values)
    if len(counts) <= MAX_CATEGORIES:
        return [v for v, _ in counts.most_common()], values
    keep = {v for v, _ in counts.most_common(MAX_CATEGORIES - 1)}
    bucketed = [v if v in keep else OTHER for v in values]
    return [v for v, _ in Counter(bucketed).most_common()], bucketed


def _scatter(coords: np.ndarray, **kwargs):
    if coords.shape[1] == 3:
        marker = kwargs.pop("marker", {})
        marker = {**marker, "size": max(2, marker.get("size", 6) // 2)}
        return go.Scatter3d(x=coords[:, 0], y=coords[:, 1], z=coords[:, 2], marker=marker, **kwargs)
    columns = np.ascontiguousarray(coords.T)  # each axis as one typed array in the JSON
    return go.Scattergl(x=columns[0], y=columns[1], **kwargs)


def map_figure(coords: np.ndarray, records: Sequence[Record], colours: list[str],
               overlay: Overlay | None = None, selected: int | None = None, height: int = 620,
               scheme: Colouring | None = None, selection_shape: dict | None = None,
               regions: Regions | None = None, linked: Sequence[int] = (),
               legend_below: bool = False, values: np.ndarray | None = None, value_title: str = "") -> go.Figure:
    """Build the figure; ``customdata`` of every point is its index in ``records`` (up to ``LABELLED_UP_TO``
    points; the query's top-k and the ringed item always carry theirs).

    Every trace carries its colour explicitly (``scheme``, default: ``palette.colouring``), so an exported
    HTML file draws exactly what the page draws. ``linked`` items (selected on the other model's map) are
    ringed in red. ``legend_below`` lays the legend out in rows under the plot (for a map in half the page).
    ``values`` (one number per item) colour the points on a sequential scale instead, at full opacity, with a
    colour bar titled ``value_title``: a query's own marker and top-k are drawn over them, nothing is dimmed."""
    fig = go.Figure()
    coords = coords.astype(np.float32)
    labelled = len(records) <= LABELLED_UP_TO
    labels = np.array([hover_label(r) for r in records] if labelled else [], dtype=object)
    _, bucketed = _bucket(colours)
    scheme = scheme or colouring(bucketed)
    codes, present = pd.factorize(pd.Series(bucketed, dtype=object))  # hashing: fast at a million points
    code_of = {c: k for k, c in enumerate(present)}
    dim = 0.25 if overlay else 0.85
    edge = {"width": 0.6, "color": "rgba(60,60,60,0.7)"} if scheme.outline else {"width": 0}
    size = 7 if labelled else 3
    if values is not None:  # one trace, a sequential scale, full opacity: every shade can be told apart
        idx = np.arange(len(records), dtype=np.int32)
        points = {"customdata": idx, "hovertext": [f"{labels[i]} · {values[i]:.0f}" for i in idx],
                  "hoverinfo": "text"} if labelled else {"hoverinfo": "none"}
        fig.add_trace(_scatter(coords, mode="markers", name=html.escape(value_title), showlegend=False, **points,
                               marker={"size": size, "opacity": 1.0, "color": np.asarray(values, np.float32),
                                       "colorscale": "Viridis", "cmin": 0, "cmax": 100, "showscale": True,
                                       "colorbar": {"title": {"text": html.escape(value_title), "side": "right"},
                                                    "thickness": 14}, "line": {"width": 0}}))
    for category in [c for c in scheme.order if c in code_of] if values is None else []:
        idx = np.flatnonzero(codes == code_of[category]).astype(np.int32)
        points = {"customdata": idx, "hovertext": labels[idx], "hoverinfo": "text"} if labelled else {"hoverinfo": "none"}
        fig.add_trace(_scatter(coords[idx], mode="markers", name=html.escape(shortened(category, LEGEND_CHARS)), **points,
                               marker={"size": size, "opacity": dim, "color": scheme.colours.get(category, "#9e9e9e"),
                                       "line": edge},
                               # plotly fades the rest after a click or selection; keep them readable
                               **({"unselected": {"marker": {"opacity": 0.45}}} if coords.shape[1] == 2 else {})))
    if overlay and overlay.neighbours:
        nb = np.array(overlay.neighbours, dtype=np.int32)
        segments = np.full((len(nb) * 3, coords.shape[1]), np.nan, np.float32)
        segments[0::3] = overlay.coords
        segments[1::3] = coords[nb]
        fig.add_trace(_scatter(segments, mode="lines", name="links", hoverinfo="skip",
                               line={"width": 1, "color": "rgba(80,80,80,0.6)"}, showlegend=False))
        fig.add_trace(_scatter(coords[nb], mode="markers", name="top-k", customdata=nb,
                               hovertext=[f"{hover_label(records[i])} · {s:.3f}" for i, s in zip(nb, overlay.scores)],
                               hoverinfo="text",
                               marker={"size": 11, "opacity": 1.0, "color": "white",
                                       "line": {"width": 2, "color": "black"}}))
    if overlay:
        fig.add_trace(_scatter(overlay.coords[None, :], mode="markers", name="query",
                               hovertext=[html.escape(overlay.label[:80])], hoverinfo="text",
                               marker={"size": 18, "symbol": "diamond" if coords.shape[1] == 3 else "star",
                                       "color": "black"}))
    shown = regions.readable(coords) if regions is not None else []
    if shown and coords.shape[1] == 2:  # annotations: above the points and any pictures, on a light band
        fig.update_layout(annotations=[  # at once: one add_annotation each re-validates them all
            {"x": float(regions.centres[c][0]), "y": float(regions.centres[c][1]), "showarrow": False,
             "text": html.escape(regions.names[c]), "yanchor": "top", "bgcolor": "rgba(255,255,255,0.7)",
             "font": {"size": 13, "color": "#111111"}, "borderpad": 1,
             "hovertext": f"{html.escape(regions.names[c])} · {regions.sizes[c]:,} items"} for c in shown])
    elif shown:
        fig.add_trace(_scatter(regions.centres[shown], mode="text", name="region names", showlegend=False,
                               text=[html.escape(regions.names[c]) for c in shown], hoverinfo="skip",
                               textfont={"size": 13, "color": "#111111"}))
    if len(linked) and coords.shape[1] == 2:
        ring = np.asarray(linked, np.int32)
        fig.add_trace(_scatter(coords[ring], mode="markers", name="selected on the other map", hoverinfo="skip",
                               marker={"size": 13, "color": "rgba(0,0,0,0)", "line": {"width": 2, "color": "red"}}))
    if selected is not None and 0 <= selected < len(records):
        fig.add_trace(_scatter(coords[[selected]], mode="markers", name="selected", hoverinfo="skip",
                               marker={"size": 16, "color": "rgba(0,0,0,0)", "line": {"width": 3, "color": "red"}}))
    # The top margin keeps plotly's toolbar above the legend. Pan as the default drag (box and lasso are in
    # the toolbar): with lasso as the default, Streamlit turns click-selection off and a click does nothing.
    # With a colour bar on the right the legend (query, top-k) goes under the plot, or the two would overlap.
    legend = ({"orientation": "h", "x": 0, "xanchor": "left", "y": -0.01, "yanchor": "top"}
              if legend_below or values is not None
              else {"y": 1, "yanchor": "top"})
    fig.update_layout(height=height, margin={"l": 0, "r": 0, "t": 36, "b": 0},
                      legend={"itemsizing": "constant", **legend},
                      dragmode="pan" if coords.shape[1] == 2 else "orbit", clickmode="event+select",
                      uirevision="simlab-map", plot_bgcolor="#f4f4f6", paper_bgcolor="white",
                      selections=[selection_shape] if selection_shape else None)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def similarity_percentile(ranks) -> np.ndarray:
    """Each item's similarity as a percentile of the collection from its 1-based rank: 100 for the most
    similar, 0 for the least (what the conditional-similarity map is coloured by)."""
    ranks = np.asarray(ranks, np.float64)
    n = max(1, len(ranks) - 1)
    return 100.0 * (1.0 - (ranks - 1) / n)
