"""Heavy objects, cached for the whole server (``st.cache_resource``): never rebuilt on a widget change."""
from __future__ import annotations

import streamlit as st

from components.safe_text import md_escape
from indexing.core.errors import SimLabError
from indexing.lab import Lab, load_encoder, open_lab
from indexing.model.zoo import ModelSpec, resolve_model
from indexing.core.settings import Settings, load_settings
from indexing.store.chroma import open_client


@st.cache_resource(show_spinner="Choosing a model…", ttl=3600)
def _spec(model: str, pretrained: str | None) -> ModelSpec:
    return resolve_model(model, pretrained)


@st.cache_resource(show_spinner="Loading the model…")
def _encoder(spec: ModelSpec, batch_size: int, device: str):
    return load_encoder(spec, batch_size, device)


@st.cache_resource(show_spinner="Opening the store…")
def _client(settings: Settings):
    return open_client(settings)


@st.cache_resource(show_spinner=False)
def _lab(settings: Settings, spec: ModelSpec) -> Lab:
    return open_lab(settings, encoder=_encoder(spec, settings.batch_size, settings.device), client=_client(settings))


class LabUnavailable(SimLabError, RuntimeError):
    """The chosen model or the store cannot be opened; the message says why."""


def open_cached_lab(model: str) -> Lab:
    """The cached lab for ``model``; raises ``LabUnavailable`` with a one-line reason."""
    try:
        settings = load_settings()
        pretrained = settings.pretrained if model == settings.model else None
        return _lab(settings, _spec(model, pretrained))
    except SimLabError as exc:
        raise LabUnavailable(str(exc)) from exc


def get_lab(model: str) -> Lab:
    """The lab for the chosen model; on a problem, show it plainly and stop the page."""
    try:
        lab = open_cached_lab(model)
    except LabUnavailable as exc:
        st.error(md_escape(exc))
        st.stop()
        raise  # unreachable: st.stop() ends the run
    return check_store(lab)


def check_store(lab: Lab) -> Lab:
    """Reopen after another process's writes; report a store that stopped answering and stop the page."""
    settings = lab.settings
    try:
        lab.sync()  # another process wrote to the embedded store: reopen before anything reads it
        lab.store.count()  # one cheap call: a server that went away since is reported, not a traceback
    except Exception as exc:  # chromadb raises connection errors of several types
        st.error(f"The store ({settings.store_location}) is not answering: {md_escape(str(exc).splitlines()[0][:200])}. "
                 "Judgments are safe (they live in SQLite); this page recovers by itself when the server is back.")
        st.stop()
    return lab


@st.cache_data(show_spinner=False, max_entries=16)
def metadata_values(_lab: Lab, collection: str, version: str) -> dict[str, list[str]]:
    """Metadata fields and values for filter widgets; recomputed only when the collection changes.

    ``collection`` names the store and collection (``cache_key``), so two stores never share an entry."""
    return _lab.store.metadata_values()


@st.cache_data(show_spinner=False, max_entries=16)
def stats(_lab: Lab, collection: str, version: str) -> dict:
    """Counts per kind etc.; recomputed only when the collection changes."""
    return _lab.stats()


def cache_key(lab: Lab) -> str:
    """Which store and collection a lab reads, for keying cached summaries."""
    return f"{lab.settings.store_location}/{lab.store.name}"
