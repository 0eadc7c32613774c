"""The "Why?" control of an image card: a heatmap of which regions match the query, drawn over the image.

Computed only for the card that asks (a toggle), cached per item, target and method, never on a
widget change elsewhere. The engine is ``indexing.model.explain``; what a page's results are explained
against is ``Lab.why(spec)``.
"""
from __future__ import annotations

import io
from functools import cached_property

import numpy as np
import streamlit as st
from PIL import Image, ImageDraw

from components.safe_text import md_escape
from components.resources import cache_key
from indexing.core.errors import SimLabError
from indexing.model.explain import METHODS, Why, dense_method_available, overlay
from indexing.model.regions import cell_box
from indexing.lab import Lab
from indexing.query.specs import QuerySpec
from indexing.core.ranking import normalise

METHOD_KEY = "why-method"
METHOD_LABELS = {"dense": "dense features (MaskCLIP)", "occlusion": "occlusion"}


class Explainer:
    """What a page's image cards are explained against: a query spec's target, or a given one."""

    def __init__(self, lab: Lab, spec: QuerySpec | None = None, why: Why | None = None,
                 regions: dict[str, list[int]] | None = None):
        self.lab, self.spec, self._why = lab, spec, why
        self.regions = regions or {}  # item id → the grid cells a region query matched (ringed on the heatmap)

    @cached_property
    def why(self) -> Why:
        """Worked out on first use and cached per query, so cards nobody asks about cost nothing and a rerun
        never encodes the query again."""
        if self._why is not None:
            return self._why
        return _target(self.lab, cache_key(self.lab), self.lab.version(), self.spec.key(), self.spec)

    @classmethod
    def shared(cls, lab: Lab, vectors: np.ndarray, label: str) -> Explainer:
        """Explain a group of items against what they share: their mean direction."""
        return cls(lab, why=Why(normalise(np.asarray(vectors, np.float32).mean(axis=0)), label))


@st.cache_data(show_spinner=False, max_entries=64)
def _target(_lab: Lab, collection: str, version: str, spec_key: str, _spec: QuerySpec) -> Why:
    return _lab.why(_spec)


def method_picker() -> None:
    """The heatmap method for every card (sidebar)."""
    st.selectbox("“Why?” heatmaps", METHODS, key=METHOD_KEY, format_func=METHOD_LABELS.get,
                 help="Dense: the image tower's last layer read at every position (ResNet and ViT towers; a ResNet is read "
                      "at four sizes, so larger ones take seconds). "
                      "Occlusion: how much the match drops when each region is greyed out (slower; any model).")


def _method(lab: Lab) -> str:
    """The method in force: the sidebar's choice, or occlusion where the model has no dense path."""
    chosen = st.session_state.get(METHOD_KEY, METHODS[0])
    return chosen if chosen != "dense" or dense_method_available(lab.encoder) else "occlusion"


@st.cache_data(show_spinner=False, max_entries=512)
def _overlay_png(_lab: Lab, collection: str, item_id: str, target: str, method: str, width: int,
                 _why: Why, cells: tuple[int, ...] = ()) -> tuple[bytes, int]:
    """The heatmap over the image as the card shows it (upright, RGB, at most ``width`` wide) and its width;
    the grid ``cells`` a region query matched are drawn as boxes."""
    image, heat = _lab.explained(item_id, _why, method, width)
    out = io.BytesIO()
    ring_cells(overlay(image, heat), cells, image.width, image.height).save(out, format="PNG")
    return out.getvalue(), image.width


def ring_cells(picture: Image.Image, cells: tuple[int, ...], width: int, height: int) -> Image.Image:
    """Draw each grid cell as a white-and-black box (seen on any colour) over the picture's top ``height`` rows."""
    draw = ImageDraw.Draw(picture)
    line = max(2, width // 100)
    for cell in cells:
        x0, y0, x1, y1 = cell_box(cell)
        box = (x0 * width + line, y0 * height + line, x1 * width - line, y1 * height - line)
        draw.rectangle(box, outline=(0, 0, 0), width=line + 2)
        draw.rectangle(box, outline=(255, 255, 255), width=line)
    return picture


def why_image(explainer: Explainer, item_id: str, key: str, width: int, picture) -> bool:
    """A "Why?" toggle; when on, draws the heatmap in ``picture`` (a container above the toggle) and returns
    True, so the caller draws the plain image only otherwise."""
    if not st.toggle("Why?", key=key, help="Show which regions of this image match the query"):
        return False
    method = _method(explainer.lab)
    try:
        why = explainer.why
        with st.spinner("Explaining…"):
            cells = tuple(explainer.regions.get(item_id, ()))
            png, drawn = _overlay_png(explainer.lab, cache_key(explainer.lab), item_id, why.key, method, width, why,
                                      cells)
    except SimLabError as exc:
        st.warning(md_escape(exc))
        return False
    except (RuntimeError, ValueError) as exc:  # torch: out of memory, a tower shape this method cannot read
        st.warning(md_escape(f"No heatmap for this image with {METHOD_LABELS[method]}: {str(exc).splitlines()[0][:160]}."
                             " Try the other method in the sidebar."))
        return False
    with picture:
        st.image(png, width="stretch" if width < 400 else min(width, drawn))  # a large card never enlarges
        boxed = " White boxes: the regions that matched." if explainer.regions.get(item_id) else ""
        st.caption(md_escape(f"Yellow: matches {why.label} most (ringed); the bar runs from least to most. "
                             f"{METHOD_LABELS[method]}.{boxed}"))
    return True
