"""A calibrated relevance cut-off: score → P(relevant), per query, monotone in the score.

Raw cosines are not comparable across queries (a "good" score for one text is a poor one for another),
so a fixed threshold on them keeps too much for some queries and nothing for others. Following the
Cosine Adapter idea (Relevance Filtering for Embedding-based Retrieval, CIKM 2024), the probability is a
logistic function of the score *and of the query's own score distribution* (the mean, spread and best of
its top scores), with non-negative weights on the two score terms, so within a query a higher score is
never less likely relevant and the ranking is unchanged; one global threshold then keeps what is relevant.

Fitted from graded judgments (relevant: grade ≥ ``level``); evaluated by cross-validation over queries.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

from indexing.core.errors import SimLabError, plural

DEPTH = 50  # the top scores that describe a query's score distribution
MIN_JUDGMENTS, MIN_EACH, MIN_QUERIES = 20, 5, 2
FEATURES = ("score", "z", "query mean", "query spread", "query best")
MONOTONE = (0, 1)  # feature columns that grow with the score: their weights are kept ≥ 0


class NotEnoughJudgments(SimLabError):
    """Too few judgments to fit; ``needed`` says how many more (at least)."""

    def __init__(self, message: str, needed: int):
        super().__init__(message)
        self.needed = needed


def query_stats(scores: np.ndarray, depth: int = DEPTH) -> np.ndarray:
    """(mean, spread, best) of a query's top ``depth`` finite scores over the collection."""
    finite = scores[np.isfinite(scores)]
    if len(finite) == 0:
        return np.array([0.0, 1.0, 0.0])
    top = np.sort(finite)[::-1][:depth]
    return np.array([float(top.mean()), float(max(top.std(), 1e-3)), float(top[0])])


def features(scores: np.ndarray, stats: np.ndarray) -> np.ndarray:
    """One row per score: the score, its z within the query's top scores, and the query's own stats."""
    s = np.asarray(scores, np.float64)
    z = (s - stats[0]) / stats[1]
    return np.column_stack([s, z, np.broadcast_to(stats, (len(s), 3))])


@dataclass
class Calibrator:
    """Logistic regression on ``features`` with ≥ 0 weights on the score terms (monotone in the score)."""

    weights: np.ndarray  # one per feature, on standardised features
    bias: float
    centre: np.ndarray
    scale: np.ndarray
    level: int = 1  # relevant: grade ≥ level
    judgments: int = 0
    queries: int = 0
    notes: list[str] = field(default_factory=list)

    def probability(self, scores: np.ndarray, stats: np.ndarray) -> np.ndarray:
        """P(relevant) for these scores of one query (``stats`` = ``query_stats`` of its scores); -inf → 0."""
        s = np.asarray(scores, np.float64)
        finite = np.isfinite(s)
        out = np.zeros(len(s))
        if finite.any():
            out[finite] = self.predict(features(s[finite], stats))
        return out

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """P(relevant) for rows of ``features``."""
        return expit(((rows - self.centre) / self.scale) @ self.weights + self.bias)

    def to_json(self) -> dict:
        return {"weights": self.weights.tolist(), "bias": self.bias, "centre": self.centre.tolist(),
                "scale": self.scale.tolist(), "level": self.level, "judgments": self.judgments, "queries": self.queries}


def check_enough(labels: np.ndarray, queries: int) -> None:
    """Refuse to fit on too little, saying how many more judgments are needed."""
    pos, neg = int(labels.sum()), int(len(labels) - labels.sum())
    more_pos, more_neg = max(MIN_EACH - pos, 0), max(MIN_EACH - neg, 0)
    needed = max(MIN_JUDGMENTS - len(labels), more_pos + more_neg)
    if not len(labels):
        raise NotEnoughJudgments(f"Nothing judged yet: the cut-off needs {MIN_JUDGMENTS} ({MIN_EACH} relevant, "
                                 f"{MIN_EACH} not) over {MIN_QUERIES} queries.", MIN_JUDGMENTS)
    if needed or queries < MIN_QUERIES:
        kinds = " and ".join(f"{n} {kind}" for n, kind in ((more_pos, "relevant"), (more_neg, "not relevant")) if n)
        what = (f"{plural(needed, 'more judgment')}" + (f" ({kinds})" if kinds else "") if needed
                else f"judgments on {plural(MIN_QUERIES - queries, 'more query', 'more queries')}")
        raise NotEnoughJudgments(
            f"The cut-off needs {what}: it rests on {plural(len(labels), 'judgment')} ({pos} relevant, {neg} not) over "
            f"{plural(queries, 'query', 'queries')}, and needs {MIN_JUDGMENTS}, with {MIN_EACH} of each kind, over "
            f"{MIN_QUERIES} queries.", max(needed, 1))


def fit(x: np.ndarray, relevant: np.ndarray, queries: int, level: int = 1, l2: float = 1e-2) -> Calibrator:
    """Fit on feature rows ``x`` (``features``) and booleans ``relevant``; ``NotEnoughJudgments`` if too few."""
    y = np.asarray(relevant, np.float64)
    check_enough(y, queries)
    centre, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale < 1e-9, 1.0, scale)
    xs = (x - centre) / scale

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:-1], theta[-1]
        logits = xs @ w + b
        p = expit(logits)
        nll = np.logaddexp(0, logits) - y * logits
        grad = np.concatenate([xs.T @ (p - y), [np.sum(p - y)]]) / len(y)
        return float(nll.mean() + l2 * w @ w), grad + np.concatenate([2 * l2 * w, [0.0]])

    bounds = [(0.0, None) if i in MONOTONE else (None, None) for i in range(x.shape[1])] + [(None, None)]
    theta = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B", bounds=bounds).x
    return Calibrator(theta[:-1], float(theta[-1]), centre, scale, level, len(y), queries)


def expected_calibration_error(p: np.ndarray, relevant: np.ndarray, bins: int = 10) -> float:
    """Σ over equal-width probability bins of (share of items) × |mean predicted − observed|."""
    p, y = np.asarray(p, np.float64), np.asarray(relevant, np.float64)
    which = np.minimum((p * bins).astype(int), bins - 1)
    return float(sum(abs(p[which == b].mean() - y[which == b].mean()) * (which == b).mean()
                     for b in range(bins) if (which == b).any()))


def reliability(p: np.ndarray, relevant: np.ndarray, bins: int = 10) -> list[dict]:
    """Per non-empty bin: mean predicted probability, observed share relevant, and how many items."""
    p, y = np.asarray(p, np.float64), np.asarray(relevant, np.float64)
    which = np.minimum((p * bins).astype(int), bins - 1)
    return [{"predicted": float(p[which == b].mean()), "observed": float(y[which == b].mean()),
             "items": int((which == b).sum())} for b in range(bins) if (which == b).any()]


def folds(groups: list[str], k: int = 5, seed: int = 0) -> list[np.ndarray]:
    """Boolean test masks, one per fold, that never split a query's rows between train and test."""
    unique = sorted(set(groups))
    order = np.random.default_rng(seed).permutation(len(unique))
    fold_of = {unique[i]: n % k for n, i in enumerate(order)}
    g = np.array([fold_of[q] for q in groups])
    return [g == f for f in range(min(k, len(unique)))]


def cross_validated(x: np.ndarray, relevant: np.ndarray, groups: list[str], level: int = 1,
                    k: int = 5) -> np.ndarray:
    """Out-of-fold probabilities: each query's rows predicted by a calibrator fitted without that query
    (NaN for a fold whose other queries are too few to fit on)."""
    out = np.full(len(relevant), np.nan)
    for test in folds(groups, k):
        train = ~test
        try:
            cal = fit(x[train], np.asarray(relevant)[train], len({g for g, t in zip(groups, train) if t}), level)
        except NotEnoughJudgments:
            continue
        out[test] = cal.predict(x[test])
    return out
