"""The judging pool: which results of a saved query an annotator judges, and in what order."""
from __future__ import annotations

import random
from collections.abc import Callable

from indexing.core.errors import SimLabError
from indexing.labels.label_store import SavedQuery
from indexing.query.runner import Ranking, Results
from indexing.query.specs import QuerySpec

HELD_OUT_ADAPTER = "adapter held-out"  # the method name of the held-out adapter measurement
RUN_DEPTH = 100  # how deep a saved query's rankings go: the pool, the metrics and the exported run files


def pool(rankings: dict[str, Ranking], depth: int = 10) -> list[str]:
    """The union of every method's top ``depth``, de-duplicated, in round-robin order."""
    seen: dict[str, None] = {}
    for r in range(depth):
        for ranking in rankings.values():
            if r < len(ranking):
                seen.setdefault(ranking[r][0], None)
    return list(seen)


def blind_order(items: list[str], qid: str, annotator: str) -> list[str]:
    """A shuffle that is stable for one annotator and query (so a refresh does not reorder the pool)."""
    shuffled = list(items)
    random.Random(f"{qid}|{annotator}").shuffle(shuffled)
    return shuffled


def next_to_judge(items: list[str], judged: set[str], skipped: list[str], qid: str, annotator: str,
                  blind: bool, order: list[str] | None = None) -> str | None:
    """The next pooled item for this annotator: unjudged ones in (blind) order — or in ``order``, e.g. the most
    uncertain first — skipped ones last."""
    order = order if order is not None else blind_order(items, qid, annotator) if blind else items
    todo = [i for i in order if i not in judged and i not in skipped] or [i for i in order if i not in judged]
    return todo[0] if todo else None


def uncertain_first(items: list[str], probability: dict[str, float], threshold: float = 0.5) -> list[str]:
    """The pool ordered by how close each item's P(relevant) is to the threshold: each judgment there
    teaches the cut-off the most (uncertainty sampling). Items without a probability go last."""
    return sorted(items, key=lambda i: abs(probability[i] - threshold) if i in probability else 2.0)


def run_name(family: str, method: str) -> str:
    """One algorithm's name in every table, chart and run file: its query family and method
    ('compose/sum', 'condition/sum', 'neighbours/clip', 'neighbours/adapter NAME')."""
    return f"{family}/{method}"


def split_run_name(run: str) -> tuple[str, str]:
    """(query family, method) of a run's name: ('compose', 'sum') of 'compose/sum'."""
    family, _, method = run.partition("/")
    return family, method


def by_family(run: dict[str, dict[str, float]], queries: list[SavedQuery], method: str) -> dict[str, dict]:
    """A run over queries of several families (qid → item → score) split into one run per family."""
    families = {q.qid: q.family for q in queries}
    out: dict[str, dict[str, dict[str, float]]] = {}
    for qid, ranking in run.items():
        out.setdefault(run_name(families.get(qid, "imported"), method), {})[qid] = ranking
    return out


def all_runs(queries: list[SavedQuery], qrels: dict[str, dict[str, int]],
             results_of: Callable[[QuerySpec, dict[str, int]], Results]
             ) -> tuple[dict[str, dict[str, dict[str, float]]], list[str]]:
    """``family/method`` → qid → item → score for every runnable saved query (so one row never averages two
    algorithms: Compose's and Condition's 'sum' are 'compose/sum' and 'condition/sum'); plus a note per query
    that could not run (imported ones, whose reference item was deleted, …).

    ``results_of(spec, grades)`` is ``Lab.saved_results``: each saved query runs once per collection version."""
    runs: dict[str, dict[str, dict[str, float]]] = {}
    skipped = []
    for query in queries:
        if query.family == "imported":  # qrels without a spec: judged, never run
            continue
        try:
            rankings = results_of(query.runnable, qrels.get(query.qid, {})).rankings()
        except SimLabError as exc:
            skipped.append(f"{query.qid}: {exc}")
            continue
        for method, ranking in rankings.items():
            runs.setdefault(run_name(query.family, method), {})[query.qid] = dict(ranking)
    return runs, skipped
