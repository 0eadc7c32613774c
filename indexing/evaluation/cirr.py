"""CIRR (Liu et al., ICCV 2021) from its published files: composed image retrieval on real photographs.

``DIR/cirr/captions/cap.rc2.<split>.json`` and ``DIR/cirr/image_splits/split.rc2.<split>.json`` as in the
authors' repository (Cuberick-Orion/CIRR); each split file maps an image name to its path under DIR
(``./dev/dev-244-0-img0.png``), where the images go.

- val: Recall@1/5/10/50 over the whole split and Recall_subset@1/2/3 over each query's ``img_set.members``,
  the reference removed from both rankings, as the benchmark reports them.
- test1 has no targets: ``submission`` writes the two JSON files the authors' evaluation server takes
  (``"version": "rc2"``, ``"metric": "recall"`` with each pair's top 50, ``"recall_subset"`` with its top 3).

With ``limit`` only the first queries run, over a gallery of just the images they name: quick, and not
comparable with published numbers (the result says so).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexing.evaluation.published import BenchmarkDataError, ImageVectors, image_under, load_json, open_rgb, rank_of, recall
from indexing.query.compose import COMPOSE_METHODS
from indexing.query.runner import Context, gallery_snapshot, run
from indexing.query.specs import ComposeQuery, Source
from indexing.model.encoder import Encoder
from indexing.core.ranking import rank

KS, SUBSET_KS = (1, 5, 10, 50), (1, 2, 3)
LAYOUT = "CIRR: DIR/cirr/captions, DIR/cirr/image_splits, and each image at the path its split file gives under DIR"


@dataclass(frozen=True)
class CirrQuery:
    pairid: int
    reference: str
    caption: str
    target: str | None  # None in test1
    members: tuple[str, ...]  # img_set.members (the reference among them)


def read_split(root: Path, split: str) -> tuple[list[CirrQuery], dict[str, str]]:
    """The split's queries and its image name → path table, as published."""
    rows = load_json(root / "cirr" / "captions" / f"cap.rc2.{split}.json", LAYOUT)
    names = load_json(root / "cirr" / "image_splits" / f"split.rc2.{split}.json", LAYOUT)
    queries = []
    for i, r in enumerate(rows):
        try:
            queries.append(CirrQuery(int(r["pairid"]), r["reference"], r["caption"], r.get("target_hard"),
                                     tuple(r["img_set"]["members"])))
        except (KeyError, TypeError) as exc:
            raise BenchmarkDataError(f"cap.rc2.{split}.json record {i} lacks {exc}.") from None
    unknown = {n for q in queries for n in (q.reference, q.target, *q.members) if n and n not in names}
    if unknown:
        raise BenchmarkDataError(f"split.rc2.{split}.json does not list {len(unknown)} image(s) the captions name, "
                                 f"e.g. {sorted(unknown)[0]}.")
    return queries, names


def _gallery(queries: list[CirrQuery], names: dict[str, str], complete: bool) -> list[str]:
    if complete:
        return list(names)
    return list(dict.fromkeys(n for q in queries for n in (q.reference, q.target, *q.members) if n))


def _scores(encoder: Encoder, vectors: np.ndarray, gallery: list[str], queries: list[CirrQuery],
            methods: tuple[str, ...], lam: float):
    """(query, method → scores over the gallery, the reference masked out) for every query, each a
    ``ComposeQuery`` answered by the one runner over a snapshot of the gallery."""
    context = Context(encoder, gallery_snapshot(gallery, vectors), Path("."))
    for q in queries:
        results = run(ComposeQuery(Source(item=q.reference), q.caption, lam, methods, k=1), context)
        yield q, {m: results.scored.own_scores(m) for m in methods}


def _load(root: Path, encoder: Encoder, split: str, limit: int | None):
    queries, names = read_split(root, split)
    queries = queries[:limit]
    gallery = _gallery(queries, names, limit is None)
    images = ImageVectors(encoder, lambda n: open_rgb(image_under(root, names[n].removeprefix("./"), LAYOUT), LAYOUT))
    images.encode(gallery, desc=f"cirr {split}")
    return queries, gallery, images[gallery], {n: i for i, n in enumerate(gallery)}


def evaluate_cirr(encoder: Encoder, root: Path, split: str = "val", limit: int | None = None, lam: float = 0.5,
                  methods: tuple[str, ...] = COMPOSE_METHODS) -> dict:
    """{queries, gallery, complete, recall: method → R@1/5/10/50, recall_subset: method → R_subset@1/2/3}."""
    queries, gallery, vectors, index = _load(root, encoder, split, limit)
    if any(q.target is None for q in queries):
        raise BenchmarkDataError(f"CIRR {split} has no targets to score; use the submission for test1.")
    ranks: dict[str, list[int]] = {m: [] for m in methods}
    subset: dict[str, list[int]] = {m: [] for m in methods}
    for q, scores in _scores(encoder, vectors, gallery, queries, methods, lam):
        members = [index[n] for n in q.members if n != q.reference]
        target = index[q.target]
        for m, s in scores.items():
            ranks[m].append(rank_of(s, target))
            subset[m].append(rank_of(s[members], members.index(target)) if target in members else len(members))
    return {f"cirr_{split}": {"queries": len(queries), "gallery": len(gallery), "complete": limit is None,
                              "recall": {m: recall(r, KS) for m, r in ranks.items()},
                              "recall_subset": {m: recall(r, SUBSET_KS, "R_subset") for m, r in subset.items()}}}


def submission(encoder: Encoder, root: Path, out: Path, split: str = "test1", method: str = "sum",
               limit: int | None = None, lam: float = 0.5) -> list[Path]:
    """Write the evaluation server's two files for ``method`` (top 50 over the split, top 3 of each set)."""
    queries, gallery, vectors, index = _load(root, encoder, split, limit)
    recall_file = {"version": "rc2", "metric": "recall"}
    subset_file = {"version": "rc2", "metric": "recall_subset"}
    for q, scores in _scores(encoder, vectors, gallery, queries, (method,), lam):
        s = scores[method]
        recall_file[str(q.pairid)] = [gallery[i] for i in rank(s, 50) if np.isfinite(s[i])]
        members = [index[n] for n in q.members if n != q.reference]
        subset_file[str(q.pairid)] = [gallery[members[i]] for i in rank(s[members], 3)]
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"cirr_{split}_{method}_recall.json", out / f"cirr_{split}_{method}_recall_subset.json"]
    for path, content in zip(paths, (recall_file, subset_file)):
        path.write_text(json.dumps(content), encoding="utf-8")
    return paths
