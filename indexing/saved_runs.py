"""Run a saved query again, exactly: per-method rankings, the judging pool, and Rocchio feedback."""
from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import numpy as np

from indexing.compose import normalise
from indexing.encoder import Encoder
from indexing.labels import LabelError, SavedQuery
from indexing.rich_queries import Reference, compose, condition
from indexing.search import Query, encode_query, filtered_scores, top_k
from indexing.store import Record

Ranking = list[tuple[str, float]]  # (item id, score), best first
ROCCHIO_DEFAULTS = {"alpha": 1.0, "beta": 0.75, "gamma": 0.15}


def rocchio(query: np.ndarray, relevant: np.ndarray, non_relevant: np.ndarray, alpha: float = 1.0,
            beta: float = 0.75, gamma: float = 0.15) -> np.ndarray:
    """q' = normalise(α·q + β·mean(relevant) − γ·mean(non-relevant)); empty groups contribute nothing."""
    q = alpha * np.asarray(query, np.float32)
    if len(relevant):
        q = q + beta * np.asarray(relevant, np.float32).mean(axis=0)
    if len(non_relevant):
        q = q - gamma * np.asarray(non_relevant, np.float32).mean(axis=0)
    return normalise(q)


def _ranking(scores: np.ndarray, records: list[Record], k: int, exclude: int | None = None) -> Ranking:
    return [(records[i].id, float(scores[i])) for i in top_k(scores, k, exclude)]


def query_vector(spec: dict, encoder: Encoder, records: list[Record], vectors: np.ndarray,
                 data_dir: Path) -> tuple[np.ndarray, int | None]:
    """The plain query vector of a text / image / item query (and the item's index to exclude)."""
    if spec["type"] == "text":
        return encode_query(Query(text=spec["text"]), encoder), None
    if spec["type"] == "image":
        path = data_dir / spec["image_path"]
        if not path.is_file():
            raise LabelError(f"The query image {spec['image_path']} is no longer under {data_dir}; save the "
                             "query again from Neighbours with the image.")
        return encode_query(Query(image=path.read_bytes()), encoder), None
    ids = [r.id for r in records]
    if spec["item"] not in ids:
        raise LabelError(f"Item {spec['item']!r} is no longer in this collection.")
    i = ids.index(spec["item"])
    return vectors[i], i


def run_methods(query: SavedQuery, encoder: Encoder, records: list[Record], vectors: np.ndarray,
                data_dir: Path, grades: dict[str, int] | None = None, k: int = 100) -> dict[str, Ranking]:
    """Every method's ranking for the saved query, plus 'rocchio' when its spec asks for feedback.

    ``grades`` are this query's qrels (item → grade), the judgments that feedback learns from."""
    spec = query.spec
    if spec.get("type") == "imported":
        raise LabelError(f"Query {query.qid} was imported from qrels and has no specification to run.")
    out: dict[str, Ranking] = {}
    if spec["type"] in ("text", "image", "item"):
        q, exclude = query_vector(spec, encoder, records, vectors, data_dir)
        # The same scores and filters as the Neighbours page: the pool judged is the list that was seen.
        out["clip"] = _ranking(filtered_scores(q, vectors, records, spec.get("kind"), spec.get("filters")),
                               records, k, exclude)
    elif spec["type"] == "compose":
        res = compose(Reference(item=spec["reference"]), spec["text"], encoder, records, vectors,
                      float(spec.get("lam", 0.5)), tuple(spec.get("methods") or ("image", "text", "sum", "product")),
                      k)
        out = {m: [(records[i].id, s) for i, s in zip(r.top, r.scores)] for m, r in res.results.items()}
        q, exclude = res.query_vector, res.reference_index
    else:
        _, res = condition(Reference(item=spec["reference"]), spec["condition"], encoder, records, vectors, k=k)
        out = {m: [(records[i].id, s) for i, s in zip(r.top, r.scores)] for m, r in res.results.items()}
        q, exclude = res.query_vector, res.reference_index
    if spec.get("feedback"):
        out["rocchio"] = _rocchio_ranking(q, exclude, records, vectors, grades or {}, spec["feedback"], k)
    return out


def _rocchio_ranking(q: np.ndarray, exclude: int | None, records: list[Record], vectors: np.ndarray,
                     grades: dict[str, int], params: dict, k: int) -> Ranking:
    index = {r.id: i for i, r in enumerate(records)}
    rel = [index[i] for i, g in grades.items() if g >= 2 and i in index]
    non = [index[i] for i, g in grades.items() if g == 0 and i in index]
    p = {**ROCCHIO_DEFAULTS, **params}
    refined = rocchio(q, vectors[rel], vectors[non], p["alpha"], p["beta"], p["gamma"])
    return _ranking(vectors @ refined, records, k, exclude)


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
                  blind: bool) -> str | None:
    """The next pooled item for this annotator: unjudged ones in (blind) order, skipped ones last."""
    order = blind_order(items, qid, annotator) if blind else items
    todo = [i for i in order if i not in judged and i not in skipped] or [i for i in order if i not in judged]
    return todo[0] if todo else None


def all_runs(queries: list[SavedQuery], run: Callable[[SavedQuery], dict[str, Ranking]]
             ) -> tuple[dict[str, dict[str, dict[str, float]]], list[str]]:
    """method → qid → item → score for every runnable saved query; plus a note per query that could not run.

    ``run`` gives one query's rankings (``run_methods`` with its inputs, or a cached wrapper of it)."""
    runs: dict[str, dict[str, dict[str, float]]] = {}
    skipped = []
    for query in queries:
        try:
            rankings = run(query)
        except (LabelError, ValueError) as exc:
            skipped.append(f"{query.qid}: {exc}")
            continue
        for method, ranking in rankings.items():
            runs.setdefault(method, {})[query.qid] = dict(ranking)
    return runs, skipped
