"""One line under the map controls: what is drawn (UMAP, or the quick PCA layout while UMAP fits), and
a quiet poll that swaps the map in when the background fit lands."""
from __future__ import annotations

import streamlit as st

from components.map.data import map_jobs
from components.safe_text import md_escape
from indexing.lab import Lab
from indexing.maps.jobs import JobState
from indexing.maps.projection import Projection

POLL_SECONDS = 2


def map_status(lab: Lab, projection: Projection, state: JobState | None) -> None:
    placed = int((~projection.fitted).sum())
    if projection.method == "pca":
        if state is not None and state.error:
            st.warning(f"The UMAP fit failed ({md_escape(state.error)}); showing a PCA layout. Press Refit to try again.")
            return
        st.caption(f"{len(projection):,} points · a quick PCA layout while UMAP fits in the background (the first "
                   "fit on a new machine compiles numba, about a minute); the UMAP map replaces it by itself.")
    else:
        st.caption(f"{len(projection):,} points · UMAP fitted in {projection.fit_seconds:.1f} s"
                   + (f" · {placed:,} placed from their neighbours (Refit to include them)" if placed else "")
                   + (" · refitting in the background" if state is not None and state.running else ""))
    if state is not None and state.running:
        _poll(lab, projection)


def _poll(lab: Lab, projection: Projection) -> None:
    jobs = map_jobs(str(lab.settings.data_dir))
    seen = jobs.stamp(lab.store.name, projection.params)

    @st.fragment(run_every=POLL_SECONDS)
    def wait_for_fit() -> None:
        state = jobs.state(lab.store.name, projection.params)
        if jobs.stamp(lab.store.name, projection.params) != seen or (state is not None and not state.running):
            st.rerun()  # the whole page: the new map replaces the preview

    wait_for_fit()
