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

from indexing.blobs import Blobs
from indexing.clusters import Clusters
from indexing.store import Record

ALL_THUMBNAILS_UP_TO = 300  # images in a collection up to this many: every image drawn as itself
MAP_THUMB_PX = 48


@st.cache_data(show_spinner=False, max_entries=20_000)
def _data_uri(path: str) -> str | None:
    try:
        with Image.open(path) as thumb:
            small = thumb.convert("RGB")
    except OSError:
        return None
    small.thumbnail((MAP_THUMB_PX, MAP_THUMB_PX))
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode()


def picture_points(records: Sequence[Record], coords: np.ndarray, clusters: Clusters | None,
                   centres: np.ndarray | None) -> tuple[list[int], np.ndarray, bool]:
    """Which items to draw as pictures and where: every image of a small collection at its own point, else
    the image nearest each region's centre, drawn just above that centre (its name sits just below)."""
    images = [i for i, r in enumerate(records) if r.kind == "image"]
    if len(images) <= ALL_THUMBNAILS_UP_TO:
        return images, coords[images], False
    if clusters is None or centres is None:
        return [], coords[:0], True
    pairs = [(next((i for i in reps if records[i].kind == "image"), None), c)
             for c, reps in enumerate(clusters.representatives)]
    pairs = [(i, c) for i, c in pairs if i is not None]
    return [i for i, _ in pairs], centres[[c for _, c in pairs]].reshape(-1, coords.shape[1]), True


def add_pictures(fig: go.Figure, records: Sequence[Record], blobs: Blobs, picks: list[int], at: np.ndarray,
                 exemplars: bool) -> int:
    """Draw the picked items' thumbnails at ``at`` (2-D maps only); returns how many were drawn."""
    if at.shape[1] != 2 or not picks:
        return 0
    span = float(max(np.ptp(at[:, 0]), np.ptp(at[:, 1]), 1e-9)) if len(at) > 1 else 1.0
    size = span / (10 if exemplars else 28)
    drawn = 0
    for i, (x, y) in zip(picks, at):
        uri = _data_uri(str(blobs.thumb_path(records[i].id)))
        if uri is None:
            continue
        fig.add_layout_image(source=uri, x=float(x), y=float(y), xref="x", yref="y", sizex=size, sizey=size,
                             xanchor="center", yanchor="bottom" if exemplars else "middle", layer="above")
        drawn += 1
    return drawn
