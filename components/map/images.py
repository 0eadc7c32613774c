"""Images on the map: thumbnails instead of dots for a small collection, exemplars at the regions' centres
otherwise. Layout images sit in data coordinates, so they grow as the user zooms in."""
from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from PIL import Image

from indexing.store.blobs import Blobs
from indexing.maps.clusters import Clusters
from indexing.store.chroma import Record

ALL_THUMBNAILS_UP_TO = 300  # images in a collection up to this many: every image drawn as itself
MAP_THUMB_PX = 48


@st.cache_data(show_spinner=False, max_entries=2_000)
def _data_uri(path: str) -> str:
    """A small JPEG of a stored thumbnail as a data URI (raises OSError, uncached, when it is missing)."""
    with Image.open(path) as thumb:
        small = thumb.convert("RGB")
    small.thumbnail((MAP_THUMB_PX, MAP_THUMB_PX))
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode()


def picture_points(records: Sequence[Record], coords: np.ndarray, clusters: Clusters | None,
                   centres: np.ndarray | None, regions: Sequence[int] | None = None,
                   exemplars: Sequence[int | None] | None = None) -> tuple[list[int], np.ndarray, bool]:
    """Which items to draw as pictures and where: every image of a small collection at its own point, else
    one image per region in ``regions`` (default: all; the page passes those whose names are written), drawn
    just above its centre (its name sits just below): the region's ``exemplars`` entry — an image that carries
    its name — when given, else its image nearest the centre."""
    images = [i for i, r in enumerate(records) if r.kind == "image"]
    if len(images) <= ALL_THUMBNAILS_UP_TO:
        return images, coords[images], False
    if clusters is None or centres is None:
        return [], coords[:0], True
    wanted = range(len(clusters.sizes)) if regions is None else regions
    pairs = [(exemplars[c] if exemplars is not None else
              next((i for i in clusters.representatives[c] if records[i].kind == "image"), None), c) for c in wanted]
    pairs = [(i, c) for i, c in pairs if i is not None]
    return [i for i, _ in pairs], centres[[c for _, c in pairs]].reshape(-1, coords.shape[1]), True


def picture_size(at: np.ndarray, exemplars: bool) -> float:
    """A picture's side in data units: a tenth of the span of the points they stand on (exemplars), or a
    28th (every image of a small collection)."""
    span = float(max(np.ptp(at[:, 0]), np.ptp(at[:, 1]), 1e-9)) if len(at) > 1 else 1.0
    return span / (10 if exemplars else 28)


def add_pictures(fig: go.Figure, records: Sequence[Record], blobs: Blobs, picks: list[int], at: np.ndarray,
                 exemplars: bool) -> int:
    """Draw the picked items' thumbnails at ``at`` (2-D maps only); returns how many were drawn."""
    if at.shape[1] != 2 or not picks:
        return 0
    size = picture_size(at, exemplars)
    images = []
    for i, (x, y) in zip(picks, at):
        try:
            uri = _data_uri(str(blobs.thumb_path(records[i].id)))
        except OSError:
            continue
        images.append({"source": uri, "x": float(x), "y": float(y), "xref": "x", "yref": "y", "sizex": size,
                       "sizey": size, "xanchor": "center", "yanchor": "bottom" if exemplars else "middle",
                       "layer": "above"})
    fig.update_layout(images=images)  # all at once: one add_layout_image per picture re-validates them all
    return len(images)


def rings_above(fig: go.Figure, coords: np.ndarray, items: Sequence[int]) -> None:
    """Red rings around ``items`` drawn above the pictures (a trace would sit under them): fixed-size circles
    in screen pixels anchored at each item's point (2-D maps)."""
    if coords.shape[1] != 2:
        return
    fig.update_layout(shapes=[{"type": "circle", "xref": "x", "yref": "y", "xsizemode": "pixel",
                               "ysizemode": "pixel", "xanchor": float(coords[i, 0]), "yanchor": float(coords[i, 1]),
                               "x0": -9, "x1": 9, "y0": -9, "y1": 9, "layer": "above",
                               "line": {"color": "red", "width": 3}} for i in items])
