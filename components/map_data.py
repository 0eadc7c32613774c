"""Cached map ingredients: the collection's vectors, its projection and clusters (keyed by content size)."""
from __future__ import annotations

import numpy as np
import streamlit as st

from indexing.clusters import Clusters, cluster
from indexing.lab import Lab
from indexing.projection import MapCache, MapParams, Projection, get_map, warm_up_in_background
from indexing.store import Record


@st.cache_resource(show_spinner=False)
def start_umap_warmup() -> None:
    """Compile UMAP's numba code in a background thread, once per server process."""
    warm_up_in_background()


@st.cache_resource(show_spinner="Reading vectors…", max_entries=4)
def collection_vectors(_lab: Lab, where: str, count: int) -> tuple[list[Record], np.ndarray]:
    return _lab.store.all()


@st.cache_resource(show_spinner=False)
def _refits_done() -> dict:
    return {}


@st.cache_resource(show_spinner="Fitting the map (once per collection and parameters)…", max_entries=8)
def collection_map(_lab: Lab, where: str, count: int, params: MapParams, refit_token: int) -> Projection:
    """The cached map; a new ``refit_token`` refits once, later content changes are placed, not refitted."""
    records, vectors = collection_vectors(_lab, where, count)
    done = _refits_done()
    refit = refit_token > done.get((where, params), 0)
    projection, _ = get_map(MapCache(_lab.settings.data_dir), _lab.store.name, [r.id for r in records], vectors,
                            params, refit=refit)
    done[(where, params)] = refit_token
    return projection


@st.cache_resource(show_spinner="Clustering…", max_entries=4)
def collection_clusters(_lab: Lab, where: str, count: int) -> Clusters:
    return cluster(collection_vectors(_lab, where, count)[1])
