"""Region search on Neighbours: how many images have region vectors (and computing the rest, with progress),
and "search by a part": a box drawn on the query image is a ``RegionQuery``."""
from __future__ import annotations


import numpy as np
import plotly.graph_objects as go
import streamlit as st
from PIL import Image

from components.gallery import gallery
from components.ingest_board import REGION_LABEL, running_progress, start_region_pass
from components.query.builder import use_item_as_query
from components.query.save import save_query_button
from components.safe_text import md_escape
from components.state import Keys
from components.why import Explainer
from indexing.core.errors import SimLabError
from indexing.ingest.media import MediaError, decode_image
from indexing.lab import Lab
from indexing.model.regions import regions_available
from indexing.query.specs import NeighboursQuery, RegionQuery
from indexing.store.chroma import Record

PICTURE_PX = 360
GRID_POINTS = 24  # invisible points under the picture, so a box drawn on it is reported as a selection


def region_status(lab: Lab) -> None:
    """While some images have no region vectors (the search's note says how many): the running pass's live
    progress, or a button that starts one (a server job, like an ingest: closing the tab does not stop it)."""
    if not regions_available(lab.encoder):
        st.warning(md_escape(f"{lab.spec.label} has no dense path to read region vectors from (a ResNet or ViT "
                             "image tower has one): region search needs another model."))
        return
    ready, images = lab.regions_ready()
    if ready == images or running_progress(REGION_LABEL):
        return
    if st.button(f"Compute region vectors for the other {images - ready:,} images", key="regions-compute",
                 help="Images ingested before region search (or with SIMLAB_REGIONS=0) have none yet. What is "
                      "computed is kept as it goes: searches cover it at once, and stopping loses nothing."):
        start_region_pass(lab)
        st.rerun()


def _picture(lab: Lab, spec: NeighboursQuery, records: list[Record]) -> Image.Image | None:
    """The query's image (an uploaded one, or the item's stored original), or None for a text query."""
    source = spec.source
    try:
        if source.image is not None:
            return decode_image(source.image, PICTURE_PX)
        if source.item is not None:
            record = next((r for r in records if r.id == source.item or r.name == source.item), None)
            path = lab.blobs.original_path(record.id) if record is not None and record.kind == "image" else None
            return decode_image(path.read_bytes(), PICTURE_PX) if path else None
    except (MediaError, OSError):
        return None
    return None


def box_figure(picture: Image.Image) -> go.Figure:
    """The picture with an invisible grid of points, in select mode: a box drawn on it selects them."""
    w, h = picture.size
    xs, ys = np.meshgrid(np.linspace(0, w - 1, GRID_POINTS), np.linspace(0, h - 1, GRID_POINTS))
    fig = go.Figure([go.Image(z=np.asarray(picture.convert("RGB")), hoverinfo="skip"),
                     go.Scatter(x=xs.ravel(), y=ys.ravel(), mode="markers", marker={"opacity": 0, "size": 6},
                                hoverinfo="skip", showlegend=False)])
    scale = PICTURE_PX / max(w, h)
    fig.update_layout(dragmode="select", width=int(w * scale) + 20, height=int(h * scale) + 20,
                      margin={"l": 10, "r": 10, "t": 10, "b": 10}, xaxis={"visible": False},
                      yaxis={"visible": False, "scaleanchor": "x"})
    return fig


def box_of(event, size: tuple[int, int]) -> tuple[float, float, float, float] | None:
    """The box drawn (x0, y0, x1, y1 as fractions of the picture), or None."""
    selection = (getattr(event, "selection", None) or {}) if event else {}
    for box in selection.get("box") or []:
        xs, ys = box.get("x") or [], box.get("y") or []
        if len(xs) == 2 and len(ys) == 2:
            w, h = size
            clip = lambda v: float(min(max(v, 0.0), 1.0))  # noqa: E731
            return clip(min(xs) / w), clip(min(ys) / h), clip(max(xs) / w), clip(max(ys) / h)
    return None


def part_search(lab: Lab, spec: NeighboursQuery, records: list[Record]) -> None:
    """"Search by a part of this image": draw a box on the query's picture; the images containing a part like
    it follow, each card's "Why?" boxing the regions that matched."""
    picture = _picture(lab, spec, records)
    if picture is None:
        return
    with st.expander("Search by a part of this image", expanded=True):
        st.caption("Draw a box around a part of the picture (drag on it); images containing a part like it "
                   "are found wherever the part is.")
        event = st.plotly_chart(box_figure(picture), key=Keys.PART_CHART, on_select="rerun",
                                selection_mode="box", config={"displayModeBar": False})
        box = box_of(event, picture.size)
        if box is None:
            return
        try:
            part = RegionQuery(spec.source, box, spec.k)
            results = lab.run(part)
        except SimLabError as exc:
            st.error(md_escape(exc))
            return
        for note in results.notes:
            st.caption(md_escape(note))
        save_query_button(lab, part, key="save-part")
        st.subheader(f"{len(results.hits())} images with a part like the box")
        gallery(results.hits(), lab.blobs, columns=4, on_neighbours=use_item_as_query, key_prefix="part",
                score_name="MaxSim", why=Explainer(lab, part, regions=results.matched_regions()))
