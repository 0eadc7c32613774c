"""IR metrics from graded judgments, computed by trec_eval (pytrec_eval), never by hand.

Unjudged documents count as non-relevant in trec_eval; so every figure comes with how many of a
method's top 10 are unjudged, and nothing silently pretends they were judged.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import pytrec_eval

Run = dict[str, dict[str, float]]  # qid → item → score
Qrels = dict[str, dict[str, int]]  # qid → item → grade
METRICS = ("nDCG@10", "P@10", "Recall@k", "MRR@10")


@dataclass
class MethodMetrics:
    method: str
    per_query: dict[str, dict[str, float]]  # qid → metric → value
    mean: dict[str, float]
    unjudged_top10: dict[str, int]  # qid → unjudged among the top 10


TREC_MEASURES = ("num_q", "num_ret", "num_rel", "num_rel_ret", "map", "Rprec", "bpref", "recip_rank", "P_10",
                 "ndcg", "ndcg_cut_10")


def trec_order(run_for_query: dict[str, float]) -> list[tuple[str, float]]:
    """trec_eval's order: score descending, ties by document id *descending* (it ignores the rank column)."""
    return sorted(run_for_query.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)


def top(run_for_query: dict[str, float], n: int) -> dict[str, float]:
    """The first ``n`` documents in trec_eval's order."""
    return dict(trec_order(run_for_query)[:n])


def trec_measures(run: Run, qrels: Qrels) -> dict[str, float]:
    """trec_eval's summary ('all') line for these measures: sums for the counts, means over the queries
    that are in both run and qrels otherwise, as ``trec_eval -m …`` prints them (unrounded)."""
    names = {"P_10": "P.10", "ndcg_cut_10": "ndcg_cut.10"}
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {names.get(m, m) for m in TREC_MEASURES})
    per_query = evaluator.evaluate(run)
    out: dict[str, float] = {"num_q": len(per_query)}
    for m in TREC_MEASURES[1:]:
        values = [q[m] for q in per_query.values()]
        value = pytrec_eval.compute_aggregated_measure(m, values) if values else 0.0
        out[m] = int(round(value)) if m.startswith("num_") else float(value)
    return out


def evaluate_run(method: str, run: Run, qrels: Qrels, k: int = 100, relevance_level: int = 1) -> MethodMetrics:
    """nDCG@10 (graded gains), P@10, Recall@k and MRR@10 (grade ≥ ``relevance_level`` is relevant)."""
    judged = {q: r for q, r in qrels.items() if q in run and r}
    per_query: dict[str, dict[str, float]] = {}
    if judged:
        graded = pytrec_eval.RelevanceEvaluator(judged, {"ndcg_cut.10"})
        binary = pytrec_eval.RelevanceEvaluator(judged, {"P.10", f"recall.{k}"}, relevance_level=relevance_level)
        mrr = pytrec_eval.RelevanceEvaluator(judged, {"recip_rank"}, relevance_level=relevance_level)
        runs = {q: run[q] for q in judged}
        g, b = graded.evaluate(runs), binary.evaluate(runs)
        r10 = mrr.evaluate({q: top(run[q], 10) for q in judged})
        for q in judged:
            per_query[q] = {"nDCG@10": g[q]["ndcg_cut_10"], "P@10": b[q]["P_10"], "Recall@k": b[q][f"recall_{k}"],
                            "MRR@10": r10.get(q, {}).get("recip_rank", 0.0)}
    mean = {m: (sum(v[m] for v in per_query.values()) / len(per_query) if per_query else 0.0) for m in METRICS}
    unjudged = {q: sum(1 for item in top(items, 10) if item not in qrels.get(q, {})) for q, items in run.items()}
    return MethodMetrics(method, per_query, mean, unjudged)


def cohen_kappa(pairs: list[tuple[int, int]]) -> float | None:
    """Cohen's kappa for two annotators' grades on the same items (sklearn), None when undefined."""
    if len(pairs) < 2:
        return None
    from sklearn.metrics import cohen_kappa_score

    a, b = zip(*pairs)
    if len(set(a) | set(b)) < 2:
        return 1.0  # both gave one and the same grade everywhere: total agreement
    value = cohen_kappa_score(a, b)
    return None if value != value else float(value)  # NaN → undefined


def agreement(judgments) -> dict[tuple[str, str], dict]:
    """Kappa for every pair of annotators who judged at least two of the same (query, item) pairs."""
    by_annotator: dict[str, dict[tuple[str, str], int]] = {}
    for j in judgments:
        by_annotator.setdefault(j.annotator, {})[(j.qid, j.item_id)] = j.rel
    out = {}
    for a, b in combinations(sorted(by_annotator), 2):
        shared = sorted(set(by_annotator[a]) & set(by_annotator[b]))
        kappa = cohen_kappa([(by_annotator[a][s], by_annotator[b][s]) for s in shared])
        if kappa is not None:
            out[(a, b)] = {"pairs": len(shared), "kappa": kappa}
    return out
