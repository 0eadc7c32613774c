"""The Ingest page's job list: progress of running ingests (whoever started them) and recent summaries."""
from __future__ import annotations

import time

import streamlit as st

from components.map.data import start_fit
from components.safe_text import md_escape
from components.summary import DEMO_REPEATS, REPEATS, ingest_summary
from indexing.ingest.jobs import IngestJob, IngestJobs
from indexing.lab import Lab
from indexing.ingest.sources import Plan

POLL_SECONDS = 1.0
DEMO_LABEL = "demo world"  # how a demo world's ingest job is labelled


@st.cache_resource(show_spinner=False)
def ingest_jobs() -> IngestJobs:
    """One registry for the whole server: a job outlives the tab that started it."""
    return IngestJobs()


def start_ingest(lab: Lab, label: str, plan: Plan) -> None:
    """Queue an ingest; the map is fitted in the background once it is done (if it is missing or stale)."""
    def run(p: Plan, progress) -> dict:
        summary = lab.ingest(p, progress).as_dict()
        if not summary.get("stopped"):
            try:
                start_fit(lab)
            except Exception:  # the map fits on the next visit instead; the summary must survive
                pass
        return summary

    ingest_jobs().start(label, plan, run)


REGION_LABEL = "(region vectors)"


def start_region_pass(lab: Lab) -> None:
    """Queue the region vectors of every stored image that has none, as a job like an ingest (it outlives the
    tab, runs after any ingest queued before it, and keeps what it computed batch by batch)."""
    ready, images = lab.regions_ready()

    def run(_plan: Plan, progress) -> dict:
        done = lab.compute_regions(progress)
        return {"added": done.added, "failed": [{"source": i, "reason": r} for i, r in done.failed]}

    ingest_jobs().start(f"{lab.spec.label}: {images - ready:,} images {REGION_LABEL}", Plan(), run)


def _running(job: IngestJob) -> None:
    fraction = job.done / job.total if job.total else 0.0
    st.progress(fraction, text=f"{md_escape(job.label)}: {job.done:,} / {job.total:,} items · "
                               f"{time.time() - job.started:.0f} s")


@st.fragment(run_every=POLL_SECONDS)
def _live(ids: tuple[int, ...]) -> None:
    jobs = [j for j in ingest_jobs().jobs() if j.id in ids]
    for job in jobs:
        if job.running:
            _running(job)
    if not any(j.running for j in jobs):
        st.rerun()  # the whole page: summaries and counts


def running_progress(label_ending: str = "") -> bool:
    """Live progress of the ingests running now whose label ends with ``label_ending``; True if there are some."""
    running = tuple(j.id for j in ingest_jobs().jobs() if j.running and j.label.endswith(label_ending))
    if running:
        _live(running)
    return bool(running)


def job_list() -> None:
    """Running jobs with live progress; then the last finished ones, newest first, with their summaries."""
    jobs = ingest_jobs().jobs()
    running = tuple(j.id for j in jobs if j.running)
    if running:
        st.subheader("Running")
        st.caption("Ingests run in the server: closing or reloading this tab does not stop them.")
        _live(running)
    finished = [j for j in jobs if not j.running]
    if finished:
        st.subheader("Last ingest")
        _finished(finished[0])
        if len(finished) > 1:
            with st.expander(f"Earlier ingests ({len(finished) - 1})"):
                for job in finished[1:]:
                    st.markdown(f"**{time.strftime('%H:%M:%S', time.localtime(job.started))}**")
                    st.text(job.label)
                    _finished(job)


def _finished(job: IngestJob) -> None:
    if job.error:
        st.error(md_escape(f"{job.label}: {job.error}"))
    elif job.summary is not None and job.label.endswith(REGION_LABEL):
        st.caption(f"Region vectors computed for {job.summary['added']:,} images.")
        for failure in job.summary["failed"][:20]:
            st.warning(md_escape(f"{failure['source']}: {failure['reason']}"))
    elif job.summary is not None:
        ingest_summary(job.summary, DEMO_REPEATS if job.label.startswith(DEMO_LABEL) else REPEATS)
