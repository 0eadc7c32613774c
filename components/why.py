"""The "Why?" control of an image card: a heatmap of which regions match the query, drawn over the image.

Computed only for the card that asks (a toggle), cached per item, target and method, never on a
widget change elsewhere. The engine is ``indexing.explain``; what a page's results are explained
against is ``Lab.why(spec)``.
"""
from __future__ import annotations

import io
from functools import cached_property

import numpy as np
import streamlit as st
from PIL import Image

from components.plain import md_escape
from components.resources import cache_key
from indexing.errors import SimLabError
from indexing.explain import METHODS, Why, dense_method_available, overlay
from indexing.lab import Lab
from indexing.query_specs import QuerySpec
from indexing.ranking import normalise

METHOD_KEY = "why-method"
METHOD_LABELS = {"dense": "dense features (MaskCLIP)", "occlusion": "occlusion"}


class Explainer:
    """What a page's image cards are explained against: a query spec's target, or a given one."""

    def __init__(self, lab: Lab, spec: QuerySpec | None = None, why: Why | None = None):
        self.lab, self.spec, self._why = lab, spec, why

    @cached_property
    def why(self) -> Why:
        """Worked out on first use (one text encoding at most), so cards nobody asks about cost nothing."""
        return self._why if self._why is not None else self.lab.why(self.spec)

    @classmethod
    def shared(cls, lab: Lab, vectors: np.ndarray, label: str) -> Explainer:
        """Explain a group of items against what they share: their mean direction."""
        return cls(lab, why=Why(normalise(np.asarray(vectors, np.float32).mean(axis=0)), label))


def method_picker() -> None:
    """The heatmap method for every card (sidebar)."""
    st.selectbox("“Why?” heatmaps", METHODS, key=METHOD_KEY, format_func=METHOD_LABELS.get,
                 help="Dense: the image tower's last layer read at every position (fast; ResNet and ViT towers). "
                      "Occlusion: how much the match drops when each region is greyed out (slower; any model).")


def _method(lab: Lab) -> str:
    chosen = st.session_state.get(METHOD_KEY, METHODS[0])
    return chosen if chosen != "dense" or dense_method_available(lab.encoder) else "occlusion"


@st.cache_data(show_spinner=False, max_entries=512)
def _overlay_png(_lab: Lab, collection: str, item_id: str, target: str, method: str, width: int,
                 _why: Why) -> bytes:
    heat = _lab.heatmap(item_id, _why, method)
    path = _lab.blobs.original_path(item_id)
    with Image.open(path) as original:
        image = original.convert("RGB")
    image.thumbnail((width, width), Image.Resampling.LANCZOS)
    if image.width < width // 2:  # tiny originals: enlarge so the heatmap is visible
        image = image.resize((width // 2, round(image.height * (width // 2) / image.width)), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    overlay(image, heat).save(out, format="PNG")
    return out.getvalue()


def why_image(explainer: Explainer, item_id: str, key: str, width: int, picture) -> bool:
    """A "Why?" toggle; when on, draws the heatmap in ``picture`` (a container above the toggle) and returns
    True, so the caller draws the plain image only otherwise."""
    if not st.toggle("Why?", key=key, help="Show which regions of this image match the query"):
        return False
    method = _method(explainer.lab)
    try:
        why = explainer.why
        with st.spinner("Explaining…"):
            png = _overlay_png(explainer.lab, cache_key(explainer.lab), item_id, why.key, method, width, why)
    except SimLabError as exc:
        st.warning(md_escape(exc))
        return False
    with picture:
        st.image(png, width="stretch" if width < 400 else width)
        st.caption(md_escape(f"Yellow: matches {why.label} most (ringed); blue: least. {METHOD_LABELS[method]}."))
    return True
