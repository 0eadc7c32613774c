"""What judgments teach: the relevance cut-off and the adapter, fitted from the label store's saved queries.

Each saved query with judgments is run again (``Lab.run``); its main method's scores over the whole
collection give the calibration's features, its query vector and the judged items' vectors train the
adapter. Everything reported as a measurement is held out by query: a query never scores a model that
was fitted on its own judgments.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from indexing.query.adapter import TrainingQuery, train
from indexing.labels.calibration import (Calibrator, cross_validated, expected_calibration_error,
                                  features, fit, folds, query_stats, reliability)
from indexing.core.errors import SimLabError
from indexing.labels.label_store import SavedQuery
from indexing.query.runner import Results, Snapshot
from indexing.query.specs import NeighboursQuery, QuerySpec
from indexing.core.ranking import keep_only, top_k


@dataclass
class JudgedQuery:
    """A saved query, run again without any adapter, with the grades of its judged items (snapshot indices)."""

    qid: str
    question: str  # what was asked, whatever k or feedback it was saved with: folds never split one question
    results: Results
    items: np.ndarray
    grades: np.ndarray

    @property
    def scores(self) -> np.ndarray:
        """The main method's scores, the query's own item masked."""
        return self.results.scored.own_scores()


def judged_queries(queries: list[SavedQuery], qrels: dict[str, dict[str, int]],
                   results_of: Callable[[QuerySpec], Results]) -> list[JudgedQuery]:
    """Every runnable saved query with judgments, run in the plain embedding space (an adapter's own scores
    must not calibrate plain ones, nor train the next adapter); ``results_of`` is ``Lab.saved_results``, so
    a query judging already ran is not run again."""
    out = []
    for q in queries:
        grades = qrels.get(q.qid)
        if not grades or q.spec is None:
            continue
        spec = q.spec.untuned()
        try:
            results = results_of(spec)
        except SimLabError:
            continue
        index, scores = results.snapshot.index, results.scored.own_scores()
        judged = [(index[i], g) for i, g in grades.items() if i in index and np.isfinite(scores[index[i]])]
        if judged:
            items, g = zip(*judged)
            out.append(JudgedQuery(q.qid, spec.question(), results, np.array(items), np.array(g)))
    return out


@dataclass
class CutoffReport:
    """A fitted cut-off for one method, and how well it is calibrated on queries it was not fitted on."""

    calibrator: Calibrator
    method: str
    ece: float | None  # from out-of-fold predictions; None with too few queries to hold any out
    diagram: list[dict]
    held_out: int = 0  # how many judgments the ECE and the diagram rest on


def family(results: Results) -> str:
    """Which cut-off a query uses: its main method, and for neighbours the kind it is restricted to (a text
    query over texts and images scores on another scale than one over images only)."""
    if isinstance(results.spec, NeighboursQuery):
        by = " (by best region)" if results.spec.by_regions else ""  # another scale than whole-image cosines
        return f"neighbours of {results.spec.kind + 's' if results.spec.kind else 'any kind'}{by}"
    return f"{results.spec.family} ({results.main})"


def fit_cutoff(judged: list[JudgedQuery], method: str, level: int = 1) -> CutoffReport:
    """The cut-off for one ``family`` of queries; ``NotEnoughJudgments`` if too few of them are judged."""
    mine = [j for j in judged if family(j.results) == method]
    rows = [features(j.scores[j.items], query_stats(j.scores)) for j in mine]
    x = np.vstack(rows) if rows else np.zeros((0, 5))
    y = np.concatenate([j.grades >= level for j in mine]) if mine else np.zeros(0, bool)
    groups = [j.question for j in mine for _ in j.items]
    calibrator = fit(x, y, len(mine), level)
    held_out = cross_validated(x, y, groups, level)
    scored = ~np.isnan(held_out)
    if not scored.any():
        return CutoffReport(calibrator, method, None, [], 0)
    return CutoffReport(calibrator, method, expected_calibration_error(held_out[scored], y[scored]),
                        reliability(held_out[scored], y[scored]), int(scored.sum()))


def probabilities(report: CutoffReport, results: Results) -> np.ndarray:
    """P(relevant) of every item for these results (zero where the item may not be returned, and for the
    query's own item)."""
    scores = results.scored.own_scores()
    return report.calibrator.probability(scores, query_stats(scores))


def training_queries(judged: list[JudgedQuery]) -> list[TrainingQuery]:
    vectors = lambda j: j.results.snapshot.vectors  # noqa: E731 - one snapshot per run
    return [TrainingQuery(j.qid, j.results.query_vector, vectors(j)[j.items], j.grades.astype(np.float32))
            for j in judged]


def held_out_adapter_runs(judged: list[JudgedQuery], snapshot: Snapshot, depth: int = 100,
                          k: int = 5) -> dict[str, dict[str, float]]:
    """qid → item → score under an adapter trained *without* that query (k-fold over queries): the
    'adapter' row of Label's metrics. Empty with fewer than two judged queries."""
    if len({j.question for j in judged}) < 2:
        return {}
    run: dict[str, dict[str, float]] = {}
    queries = training_queries(judged)
    for test in folds([j.question for j in judged], k):
        train_on = [q for q, t in zip(queries, test) if not t]
        try:
            adapter = train(train_on)
        except SimLabError:
            continue
        items = adapter.apply(snapshot.vectors)
        for j, t in zip(judged, test):
            if not t:
                continue
            scores = keep_only(items @ adapter.apply(j.results.query_vector), j.results.scored.allowed)
            run[j.qid] = {snapshot.records[i].id: float(scores[i]) for i in top_k(scores, depth, j.results.exclude)}
    return run
