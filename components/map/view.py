"""Map controls (query, colour, UMAP parameters, refit), selection handling and CSV export."""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import numpy as np
import streamlit as st

from components.state import MapKeys as K
from components.map.figure import LABELLED_UP_TO
from indexing.maps.projection import MapParams
from indexing.store.chroma import Record
from indexing.labels.trec import safe_cell

MAX_LASSO_VERTICES = 64  # enough for the shape a hand draws; keeps the URL short
MAX_CLICKED = 20  # points found by position (shift-clicks) on a map without ids


def _refit() -> None:
    st.session_state[K.REFIT] += 1


def colour_fields(records: Sequence[Record]) -> list[str]:
    fields = sorted({k for r in records for k in r.metadata})
    return ["kind", "cluster"] + fields


def map_controls(records: Sequence[Record]) -> MapParams:
    """Query and colour above the map; projection parameters in an expander. Returns the parameters."""
    c1, c2, c3, c4, c5 = st.columns([2.6, 1.8, 1.8, 0.8, 1.2])
    c1.text_input("Put a text on the map", key=K.QUERY, placeholder="a red circle")
    c2.text_input("…or an item id", key=K.ITEM)
    fields = colour_fields(records)
    if st.session_state[K.COLOUR] not in fields:
        st.session_state[K.COLOUR] = "kind"
    c3.selectbox("Colour by", fields, key=K.COLOUR)
    c4.number_input("k", 1, 100, key=K.K)
    c5.toggle("Names", key=K.NAMES, help="Write each region's name on the map: words CLIP matches to its images "
              "(from the vocabulary below), or the distinctive words of its texts.")
    c5.toggle("Images", key=K.IMAGES, help="Thumbnails instead of dots for a collection of up to 300 images; "
              "above that, one exemplar image at the centre of each region. They grow as you zoom in (2-D maps).")
    c5.toggle("Compare", key=K.COMPARE, help="Another model's map of the same items beside this one: a selection "
              "on either is shown on both, each item coloured by how many nearest neighbours the models share.")
    if len(records) > LABELLED_UP_TO and st.session_state[K.DIMS] == 3:
        st.session_state[K.DIMS] = 2  # a 3-D scatter of this many points would stall the browser
        st.caption(f"3-D maps are drawn up to {LABELLED_UP_TO:,} points; this collection has {len(records):,}, "
                   "so the map is 2-D.")
    with st.expander("Projection"):
        p1, p2, p3, p4, p5 = st.columns(5)
        p1.slider("n_neighbors", 2, 100, key=K.NEIGHBORS)
        p2.slider("min_dist", 0.0, 1.0, step=0.05, key=K.MIN_DIST)
        p3.radio("Dimensions", [2, 3], key=K.DIMS, horizontal=True, disabled=len(records) > LABELLED_UP_TO,
                 help=f"3-D maps are drawn up to {LABELLED_UP_TO:,} points.")
        p4.number_input("Fit sample", 100, 200_000, step=1000, key=K.SAMPLE,
                        help="Large collections are fitted on a sample; the rest are placed from neighbours.")
        p5.button("Refit", on_click=_refit, help="Fit again on everything, including items added since.")
    return current_params()


def current_params() -> MapParams:
    """The map parameters in session state (shared by the Map page and every map overlay)."""
    return MapParams(n_neighbors=int(st.session_state[K.NEIGHBORS]), min_dist=float(st.session_state[K.MIN_DIST]),
                     dims=int(st.session_state[K.DIMS]), sample=int(st.session_state[K.SAMPLE]))


def selected_indices(event, coords: np.ndarray | None = None) -> list[int]:
    """Indices (into the map's records) of the points a plotly selection event holds.

    A point's index is its ``customdata``; a map too large to carry ids (``map_figure.LABELLED_UP_TO``) is
    answered from ``coords``: the box or lasso's points, or the point at a click's position."""
    points = (getattr(event, "selection", None) or {}).get("points", []) if event else []
    out, unlabelled = [], False
    for p in points:
        data = p.get("customdata")
        if isinstance(data, list):
            data = data[0] if data else None
        if data is not None:
            out.append(int(data))
        else:
            unlabelled = True
    if not unlabelled or coords is None or not len(coords):
        return list(dict.fromkeys(out))
    if region := region_from_event(event):  # some points carry no id: the box or lasso says which are inside
        return region_points(region, coords)
    if out:
        return list(dict.fromkeys(out))
    for p in points[:MAX_CLICKED]:
        at = [p.get("x"), p.get("y")] + ([p.get("z")] if coords.shape[1] == 3 else [])
        if all(isinstance(v, (int, float)) for v in at):
            out.append(int(np.argmin(((coords - np.array(at, np.float32)) ** 2).sum(axis=1))))
    return list(dict.fromkeys(out))


def selection_csv(records: Sequence[Record], regions: Sequence[str] | None = None) -> str:
    """Selected items as CSV (with each item's region name when given); cells that a spreadsheet would run as
    formulas are made inert."""
    fields = sorted({k for r in records for k in r.metadata})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "kind", "name", "text"] + (["region"] if regions is not None else []) + fields)
    for n, r in enumerate(records):
        region = [regions[n]] if regions is not None else []
        writer.writerow([safe_cell(v) for v in [r.id, r.kind, r.name, r.text or ""] + region
                         + [r.metadata.get(f) for f in fields]])
    return out.getvalue()


def region_from_event(event) -> str:
    """The box or lasso of a plotly selection event as short text for the URL ('' for a click or none)."""
    selection = (getattr(event, "selection", None) or {}) if event else {}
    for box in selection.get("box") or []:
        xs, ys = box.get("x") or [], box.get("y") or []
        if len(xs) == 2 and len(ys) == 2:
            return "box:" + ",".join(f"{v:.4g}" for v in (min(xs), max(xs), min(ys), max(ys)))
    for lasso in selection.get("lasso") or []:
        xs, ys = lasso.get("x") or [], lasso.get("y") or []
        if len(xs) >= 3 and len(xs) == len(ys):
            keep = np.unique(np.linspace(0, len(xs) - 1, min(len(xs), MAX_LASSO_VERTICES)).round().astype(int))
            return "lasso:" + ";".join(f"{xs[i]:.4g},{ys[i]:.4g}" for i in keep)
    return ""


def parse_region(text: str) -> tuple[str, np.ndarray] | None:
    """('box', [x0, x1, y0, y1]) or ('lasso', (n, 2) vertices); None for anything malformed."""
    kind, _, body = text.partition(":")
    try:
        if kind == "box":
            values = np.array([float(v) for v in body.split(",")])
            return ("box", values) if values.shape == (4,) and np.isfinite(values).all() else None
        if kind == "lasso":
            vertices = np.array([[float(v) for v in pair.split(",")] for pair in body.split(";")])
            ok = vertices.ndim == 2 and vertices.shape[1] == 2 and len(vertices) >= 3 and np.isfinite(vertices).all()
            return ("lasso", vertices) if ok else None
    except ValueError:
        return None
    return None


def region_points(text: str, coords: np.ndarray) -> list[int]:
    """Indices of the 2-D map points inside the region (ray casting for a lasso)."""
    region = parse_region(text)
    if region is None or coords.ndim != 2 or coords.shape[1] != 2 or not len(coords):
        return []
    kind, g = region
    x, y = coords[:, 0], coords[:, 1]
    if kind == "box":
        inside = (x >= g[0]) & (x <= g[1]) & (y >= g[2]) & (y <= g[3])
    else:
        inside = np.zeros(len(coords), bool)
        for (x1, y1), (x2, y2) in zip(g, np.roll(g, -1, axis=0)):
            crosses = (y1 > y) != (y2 > y)
            with np.errstate(divide="ignore", invalid="ignore"):
                at = (x2 - x1) * (y - y1) / (y2 - y1) + x1
            inside ^= crosses & (x < at)
    return np.flatnonzero(inside).tolist()


def region_shape(text: str) -> dict | None:
    """The region as a plotly layout selection, so a shared link shows the outline it selected."""
    region = parse_region(text)
    if region is None:
        return None
    kind, g = region
    if kind == "box":
        return {"type": "rect", "xref": "x", "yref": "y", "x0": g[0], "x1": g[1], "y0": g[2], "y1": g[3]}
    return {"type": "path", "xref": "x", "yref": "y",
            "path": "M" + "L".join(f"{vx},{vy}" for vx, vy in g) + "Z"}


def region_around(indices: Sequence[int], coords: np.ndarray) -> str:
    """A box around these points of a 2-D map (padded by 2 % of its span), as region text; '' for none."""
    if not len(indices) or coords.ndim != 2 or coords.shape[1] != 2:
        return ""
    at = coords[np.asarray(indices, int)]
    lo, hi = at.min(axis=0), at.max(axis=0)
    pad = 0.02 * np.maximum(coords.max(axis=0) - coords.min(axis=0), 1e-6)
    lo, hi = lo - pad, hi + pad
    return "box:" + ",".join(f"{v:.6g}" for v in (lo[0], hi[0], lo[1], hi[1]))


def region_on_map(text: str, coords: np.ndarray) -> bool:
    """Whether the region's outline meets the map's extent (a region from another layout may lie far off it)."""
    region = parse_region(text)
    if region is None or coords.ndim != 2 or coords.shape[1] != 2 or not len(coords):
        return False
    kind, g = region
    x0, x1, y0, y1 = (g[0], g[1], g[2], g[3]) if kind == "box" else (g[:, 0].min(), g[:, 0].max(),
                                                                     g[:, 1].min(), g[:, 1].max())
    (cx0, cy0), (cx1, cy1) = coords.min(axis=0), coords.max(axis=0)
    return x0 <= cx1 and x1 >= cx0 and y0 <= cy1 and y1 >= cy0


def settled_region(region: str, picked: list[int], fresh: bool, drawn_on: str, layout: str,
                   coords: np.ndarray) -> tuple[str, list[int], str]:
    """The region to keep and draw, its points, and a note: a box or lasso lives in the layout it was drawn
    on. After the layout changed (the quick PCA layout replaced by UMAP, a refit, 2-D and 3-D), or when its
    outline lies off this map, the selection is kept as its items and redrawn around them; with no items
    left it is dropped, saying so. ``fresh``: the region was just drawn on this layout."""
    if not region:
        return "", picked, ""
    if fresh or (drawn_on == layout and region_on_map(region, coords)):
        return region, (picked or region_points(region, coords)), ""
    if coords.shape[1] != 2:
        return "", picked, (f"The map is 3-D: the {len(picked):,} selected items are kept, without an outline."
                            if picked else "The selection was dropped: a box or lasso selects on a 2-D map.")
    if picked:
        return (region_around(picked, coords), picked,
                f"The map's layout changed: the {len(picked):,} selected items are kept and outlined again.")
    return "", [], "The selection was dropped: it lay off this map's layout (select again)."
