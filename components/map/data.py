"""Cached map ingredients: the projection (fitted in the background, a PCA preview until then) and clusters."""
from __future__ import annotations

import streamlit as st

from components.resources import cache_key
from indexing.maps.names import ClusterName, Vocabulary, default_terms, load_terms, name_clusters
from indexing.maps.clusters import Clusters, cluster
from indexing.core.errors import SimLabError
from indexing.lab import Lab
from indexing.maps.jobs import JobState, MapJobs
from indexing.maps.projection import MapParams, Projection


@st.cache_resource(show_spinner=False)
def map_jobs(data_dir: str) -> MapJobs:
    """One registry of background fits per data directory, for the whole server."""
    return MapJobs(data_dir)


@st.cache_resource(show_spinner="Laying out the map…", max_entries=8)
def _projection(_lab: Lab, _jobs: MapJobs, collection: str, version: str, params: MapParams, stamp: float) -> Projection:
    records, vectors = _lab.vectors()
    return _jobs.projection(_lab.store.name, [r.id for r in records], vectors, params)


def collection_map(lab: Lab, params: MapParams, refit_token: int) -> tuple[Projection, JobState | None]:
    """The map to draw now and the state of its background fit (None when none ran in this server).

    A new ``refit_token`` starts a fit of everything in the background; the current map stays until it lands."""
    jobs = map_jobs(str(lab.settings.data_dir))
    collection = cache_key(lab)
    done = st.session_state.setdefault("map_refits_done", {})  # per session, like the Refit counter
    if refit_token > done.get((collection, params), 0):
        records, vectors = lab.vectors()
        jobs.start(lab.store.name, [r.id for r in records], vectors, params)
        done[(collection, params)] = refit_token
    projection = _projection(lab, jobs, collection, lab.version(), params, jobs.stamp(lab.store.name, params))
    return projection, jobs.state(lab.store.name, params)


def start_fit(lab: Lab, params: MapParams | None = None) -> None:
    """After an ingest: fit the map in the background if it is missing or stale, so it is ready when someone
    opens the Map (a good map places a few new items by itself)."""
    records, vectors = lab.vectors()
    map_jobs(str(lab.settings.data_dir)).ensure(lab.store.name, [r.id for r in records], vectors,
                                                params or MapParams())


@st.cache_resource(show_spinner="Clustering…", max_entries=4)
def collection_clusters(_lab: Lab, collection: str, version: str) -> Clusters:
    return cluster(_lab.vectors()[1])


@st.cache_data(show_spinner=False, max_entries=8)
def _default_terms(_lab: Lab, collection: str, version: str) -> list[str]:
    return default_terms(_lab.vectors()[0])


def region_terms(lab: Lab) -> tuple[list[str], str]:
    """The vocabulary that names this collection's regions, and where it comes from: "saved", "default", or
    why the saved one could not be read (the default is used then)."""
    try:
        saved = load_terms(lab.settings.data_dir, lab.store.name)
    except SimLabError as exc:
        return _default_terms(lab, cache_key(lab), lab.version()), str(exc)
    return (saved, "saved") if saved is not None else (_default_terms(lab, cache_key(lab), lab.version()), "default")


@st.cache_data(show_spinner="Naming the regions…", max_entries=8)
def _names(_lab: Lab, _clusters: Clusters, collection: str, version: str, terms: tuple[str, ...]) -> list[ClusterName]:
    records, vectors = _lab.vectors()
    return name_clusters(_clusters, records, vectors, _lab.encoder, Vocabulary.of(terms, records))


def region_names(lab: Lab, clusters: Clusters) -> list[ClusterName]:
    """Each cluster's name (``indexing.maps.names``), recomputed only when the collection or vocabulary changes."""
    terms, _ = region_terms(lab)
    return _names(lab, clusters, cache_key(lab), lab.version(), tuple(terms))
