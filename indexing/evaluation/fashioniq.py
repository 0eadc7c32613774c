"""FashionIQ (Wu et al., CVPR 2021) from its published files: composed retrieval of dresses, shirts, tops.

``DIR/captions/cap.<category>.val.json`` and ``DIR/image_splits/split.<category>.val.json`` as in the
authors' repository (XiaoxiaoGuo/fashion-iq); images as ``DIR/images/<asin>.png`` (or ``.jpg``), the
layout the common baselines use. Each pair's two relative captions are joined the way those baselines do
("<first, capitalised> and <second>", stray '.?, ' stripped); the gallery is the category's whole val
split, the reference included, as in their evaluation. Recall@10/50 per category and their mean.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from indexing.evaluation.published import BenchmarkDataError, ImageVectors, image_under, load_json, open_rgb, rank_of, recall
from indexing.query.compose import COMPOSE_METHODS
from indexing.query.runner import Context, gallery_snapshot, run
from indexing.query.specs import ComposeQuery, Source
from indexing.model.encoder import Encoder

CATEGORIES = ("dress", "shirt", "toptee")
KS = (10, 50)
LAYOUT = "FashionIQ: DIR/captions, DIR/image_splits and DIR/images/<asin>.png"


def query_text(captions: list[str]) -> str:
    """The two relative captions as one query: 'Is shiny and silver with shorter sleeves and fit and flare'."""
    first, second = (c.strip(".?, ") for c in captions[:2])
    return f"{first.capitalize()} and {second}"


def image_path(root: Path, asin: str) -> Path:
    """DIR/images/<asin>.png (or .jpg), never outside DIR/images (an asin with '../' is refused)."""
    png = image_under(root / "images", f"{asin}.png", LAYOUT)
    jpg = image_under(root / "images", f"{asin}.jpg", LAYOUT)
    return png if png.is_file() or not jpg.is_file() else jpg


def read_category(root: Path, category: str, split: str = "val") -> tuple[list[tuple[str, str, str | None]], list[str]]:
    """(candidate, query text, target or None) per pair, and the split's image ids, as published."""
    rows = load_json(root / "captions" / f"cap.{category}.{split}.json", LAYOUT)
    ids = load_json(root / "image_splits" / f"split.{category}.{split}.json", LAYOUT)
    pairs = []
    for i, r in enumerate(rows):
        try:
            captions, candidate, target = r["captions"], r["candidate"], r.get("target")
        except (KeyError, TypeError) as exc:
            raise BenchmarkDataError(f"cap.{category}.{split}.json record {i} lacks {exc}.") from None
        if not (isinstance(captions, list) and len(captions) >= 2 and all(isinstance(c, str) for c in captions[:2])):
            raise BenchmarkDataError(f"cap.{category}.{split}.json record {i}: 'captions' must be a list of two "
                                     "texts, as published.")
        if not isinstance(candidate, str) or not (target is None or isinstance(target, str)):
            raise BenchmarkDataError(f"cap.{category}.{split}.json record {i}: 'candidate' and 'target' are image "
                                     "ids (text).")
        pairs.append((candidate, query_text(captions), target))
    return pairs, list(ids)


def _mean(values: list[float | None]) -> float | None:
    return None if any(v is None for v in values) else round(float(np.mean(values)), 4)


def evaluate_fashioniq(encoder: Encoder, root: Path, categories: tuple[str, ...] = CATEGORIES,
                       limit: int | None = None, lam: float = 0.5, methods: tuple[str, ...] = COMPOSE_METHODS) -> dict:
    """category → {queries, gallery, recall: method → R@10/50}; 'mean' → method → the categories' mean."""
    images = ImageVectors(encoder, lambda asin: open_rgb(image_path(root, asin), LAYOUT))
    out: dict = {}
    for category in categories:
        pairs, ids = read_category(root, category)
        pairs = pairs[:limit]
        if limit is not None:  # a quick run: only the images these pairs name
            ids = list(dict.fromkeys(a for c, _, t in pairs for a in (c, t) if a))
        index = {a: i for i, a in enumerate(ids)}
        missing = {a for c, _, t in pairs for a in (c, t) if a not in index}
        if missing:
            raise BenchmarkDataError(f"split.{category}.val.json does not list {sorted(missing)[0]}, which a caption names.")
        images.encode(ids, desc=f"fashioniq {category}")
        context = Context(encoder, gallery_snapshot(ids, images[ids]), root)
        ranks: dict[str, list[int]] = {m: [] for m in methods}
        for candidate, text, target in pairs:  # the candidate stays in the gallery, as the benchmark scores it
            results = run(ComposeQuery(Source(item=candidate), text, lam, methods, k=1), context)
            for m, s in results.scored.scores.items():
                ranks[m].append(rank_of(s, index[target]))
        out[category] = {"queries": len(pairs), "gallery": len(ids), "recall": {m: recall(r, KS) for m, r in ranks.items()}}
    out["mean"] = {m: {f"R@{k}": _mean([out[c]["recall"][m][f"R@{k}"] for c in categories]) for k in KS}
                   for m in methods}
    return {"fashioniq_val": {**out, "complete": limit is None}}
