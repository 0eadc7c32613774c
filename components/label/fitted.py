"""What the judgments teach, on every page: the relevance cut-off and the saved adapters (cached)."""
from __future__ import annotations

import numpy as np
import streamlit as st

from components.safe_text import md_escape
from components.resources import cache_key
from indexing.query import adapter as adapters
from indexing.core.errors import plural
from indexing.labels.calibration import NotEnoughJudgments
from indexing.core.errors import SimLabError
from indexing.labels.judging import uncertain_first
from indexing.lab import Lab
from indexing.labels.label_store import LabelStore
from indexing.labels.fitting import (CutoffReport, JudgedQuery, family, fit_cutoff, held_out_adapter_runs, judged_queries,
                               probabilities, training_queries)
from indexing.query.runner import Results
from indexing.store.chroma import Hit

MAX_SHOWN = 200


@st.cache_resource(show_spinner="Running the judged queries again…", max_entries=4)
def _judged(_lab: Lab, collection: str, version: str, stamp: str) -> list[JudgedQuery]:
    labels = LabelStore(_lab.settings.data_dir)
    return judged_queries(labels.queries(), labels.qrels(), _lab.saved_results)


def judged(lab: Lab) -> tuple[list[JudgedQuery], str]:
    """The saved queries with judgments, run again once per collection version and judgments; and that stamp."""
    stamp = LabelStore(lab.settings.data_dir).stamp()
    return _judged(lab, cache_key(lab), lab.version(), stamp), stamp


@st.cache_resource(show_spinner="Fitting the relevance cut-off…", max_entries=32)
def _cutoff(_judged: list[JudgedQuery], collection: str, version: str, stamp: str, family: str,
            level: int) -> CutoffReport | str:
    try:
        return fit_cutoff(_judged, family, level)
    except NotEnoughJudgments as exc:
        return str(exc)


def cutoff(lab: Lab, family: str, level: int = 1) -> CutoffReport | str:
    """The cut-off for a family of queries fitted on this collection's judgments, or why there is none yet."""
    queries, stamp = judged(lab)
    return _cutoff(queries, cache_key(lab), lab.version(), stamp, family, level)


@st.cache_resource(show_spinner="Evaluating the adapter on held-out queries…", max_entries=8)
def _adapter_runs(_lab: Lab, _judged: list[JudgedQuery], collection: str, version: str,
                  stamp: str) -> dict[str, dict[str, float]]:
    return held_out_adapter_runs(_judged, _lab.snapshot())


def adapter_runs(lab: Lab) -> dict[str, dict[str, float]]:
    """Each judged query ranked by an adapter trained without it (empty with fewer than two judged questions)."""
    queries, stamp = judged(lab)
    return _adapter_runs(lab, queries, cache_key(lab), lab.version(), stamp)


def likely_relevant(lab: Lab, results: Results, key: str) -> list[Hit] | None:
    """A toggle: with it on, every item with P(relevant) ≥ t under the page's main method, best first
    (each card shows its probability), instead of a fixed top k. None when off."""
    c1, c2 = st.columns([1, 2])
    on = c1.toggle("Likely relevant only", key=f"{key}-on", help="Keep what your judgments say is relevant, "
                   "with a probability calibrated per query, instead of a fixed number of results.")
    if not on:
        return None
    threshold = c2.slider("P(relevant) at least", 0.05, 0.95, 0.5, 0.05, key=f"{key}-t")
    if results.spec.adapter:
        st.info("The cut-off is calibrated on the plain scores of your saved queries; choose no adapter to use it.")
        return None
    report = cutoff(lab, family(results))
    if isinstance(report, str):
        st.info(md_escape(f"Queries like this one ({family(results)}): {report}") +
                " Judge results of saved queries like it on the Label page.")
        return None
    p = probabilities(report, results)
    if results.exclude is not None:
        p[results.exclude] = 0.0
    keep = np.flatnonzero(p >= threshold)
    keep = keep[np.argsort(-p[keep], kind="stable")]
    records = results.snapshot.records
    basis = f"calibrated on {report.calibrator.judgments} judgments over {report.calibrator.queries} queries"
    if report.ece is not None:
        basis += f"; held-out ECE {report.ece:.3f}"
    shown = f"; the first {MAX_SHOWN} shown" if len(keep) > MAX_SHOWN else ""
    st.caption(f"{len(keep)} items with P ≥ {threshold:.2f} ({basis}){shown}.")
    return [records[i].with_score(float(p[i])) for i in keep[:MAX_SHOWN]]


def untuned_run(lab: Lab, query) -> Results | None:
    """A saved query run once in the plain embedding space (what its cut-off is about); None if it cannot run."""
    try:
        return lab.saved_results(query.spec.untuned())
    except SimLabError:
        return None


def cutoff_family(results: Results | None) -> str:
    """Which cut-off a saved query belongs to (its main method, and kind for neighbours)."""
    return "neighbours of any kind" if results is None else family(results)


def uncertain_order(lab: Lab, results: Results | None, items: list[str]) -> list[str] | None:
    """The pool, most uncertain first under the cut-off of the query's method; None (with a note) without one."""
    if results is None:
        return None
    report = cutoff(lab, family(results))
    if isinstance(report, str):
        st.caption(md_escape(report))
        return None
    p = probabilities(report, results)
    index = results.snapshot.index
    return uncertain_first(items, {i: float(p[index[i]]) for i in items if i in index})


def adapter_names(lab: Lab) -> list[str]:
    return list(adapters.saved(lab.settings.data_dir, lab.store.name))


def train_and_save(lab: Lab, name: str) -> str:
    """Train on every judged query and save under ``name``; returns what was trained on (or why not)."""
    try:
        adapter = adapters.train(training_queries(judged(lab)[0]))
        adapters.save(adapter, lab.settings.data_dir, lab.store.name, name)
    except SimLabError as exc:
        return f"Not trained: {exc}"
    m = adapter.meta
    return (f"Saved adapter {name}: {plural(m['judgments'], 'judgment')} ({m['pairs']} ordered pairs) over "
            f"{plural(m['queries'], 'query', 'queries')} whose items differ in grade, trained in {m['train_seconds']} s.")
