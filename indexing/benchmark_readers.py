"""Readers for public benchmarks on local disk, so ``evaluate`` runs them wherever the data is.

GeneCIS (``--genecis DIR``): ``DIR/<task>.json`` for tasks focus_attribute, change_attribute,
focus_object, change_object — a list of ``{"reference": IMG, "condition": str, "target": IMG,
"gallery": [IMG, ...]}`` where IMG is ``{"image_id": ..., "instance_bbox": [x, y, w, h]}`` (bbox
optional) and images are ``DIR/images/<image_id>.jpg``. The target is always gallery position 0.

CIRR (``--cirr DIR``): ``DIR/cirr/captions/cap.rc2.<split>.json`` (``{"reference", "caption",
"target_hard"}``) and ``DIR/cirr/image_splits/split.rc2.<split>.json`` (name → relative path).
The gallery is every image of the split; the reference is excluded from its own ranking.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from indexing.compose import COMPOSE_METHODS, ComposeInputs, compose_scores, split_clauses
from indexing.ranking import rank
from indexing.condition import ConditionInputs, condition_scores
from indexing.encoder import Encoder
from indexing.errors import SimLabError
from indexing.evaluate import recall_at

GENECIS_TASKS = ("focus_attribute", "change_attribute", "focus_object", "change_object")
DILATION = 0.7  # GeneCIS crops a dilated box around the instance


class BenchmarkDataError(SimLabError, ValueError):
    """Benchmark files missing or malformed; the message names the file."""


def _load_json(path: Path):
    if not path.is_file():
        raise BenchmarkDataError(f"{path} not found; see the layout in `python -m indexing evaluate --help`.")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BenchmarkDataError(f"{path} is not valid JSON: {exc}") from None


def _crop(image: Image.Image, bbox) -> Image.Image:
    if not bbox:
        return image
    x, y, w, h = bbox
    left, top = max(0, x - DILATION * w), max(0, y - DILATION * h)
    right, bottom = min(image.width, left + (1 + DILATION) * w), min(image.height, top + (1 + DILATION) * h)
    return image.crop((left, top, right, bottom))


def _genecis_image(root: Path, spec: dict) -> Image.Image:
    path = root / "images" / f"{spec['image_id']}.jpg"
    if not path.is_file():
        raise BenchmarkDataError(f"{path} not found (GeneCIS images go in DIR/images/<image_id>.jpg).")
    with Image.open(path) as im:
        return _crop(im.convert("RGB"), spec.get("instance_bbox"))


def evaluate_genecis(encoder: Encoder, root: Path, tasks: tuple[str, ...] = GENECIS_TASKS,
                     limit: int | None = None) -> dict:
    """task → method → R@1/2/3, for each GeneCIS task file present in ``root``."""
    out = {}
    for task in tasks:
        path = root / f"{task}.json"
        if not path.exists():
            continue
        samples = _load_json(path)[:limit]
        change = task.startswith("change")
        methods = ("image", "sum", "product") if change else ("image", "sum")
        hits: dict[str, list] = {m: [] for m in methods}
        for sample in samples:
            images = [_genecis_image(root, s) for s in [sample["reference"], sample["target"], *sample["gallery"]]]
            vectors = encoder.encode_images(images)
            cond = encoder.encode_texts([sample["condition"]])[0]
            x = ConditionInputs(vectors[0], cond, vectors[1:], value_text=cond if change else None)
            for method, scores in condition_scores(x, methods).items():
                hits[method].append(rank(scores, 3) == 0)
        out[f"genecis_{task}"] = {m: recall_at(np.array(h, dtype=bool), (1, 2, 3)) for m, h in hits.items() if h}
    if not out:
        raise BenchmarkDataError(f"No GeneCIS task files ({', '.join(t + '.json' for t in tasks)}) in {root}.")
    return out


def evaluate_cirr(encoder: Encoder, root: Path, split: str = "val", limit: int | None = None,
                  lam: float = 0.5) -> dict:
    """method → R@1/5/10 on CIRR's ``split`` (the whole split as gallery, the reference excluded)."""
    captions = _load_json(root / "cirr" / "captions" / f"cap.rc2.{split}.json")[:limit]
    names = _load_json(root / "cirr" / "image_splits" / f"split.rc2.{split}.json")
    order = list(names)
    index = {n: i for i, n in enumerate(order)}
    images = []
    for name in order:
        path = root / names[name].lstrip("./")
        if not path.is_file():
            raise BenchmarkDataError(f"{path} not found (listed for {name} in split.rc2.{split}.json).")
        with Image.open(path) as im:
            images.append(im.convert("RGB"))
    gallery = encoder.encode_images(images)
    hits: dict[str, list] = {m: [] for m in COMPOSE_METHODS}
    for sample in captions:
        ref, target = index[sample["reference"]], index[sample["target_hard"]]
        text = sample["caption"]
        clauses = encoder.encode_texts(split_clauses(text) or [text])
        x = ComposeInputs(gallery[ref], encoder.encode_texts([text])[0], clauses, gallery, lam)
        for method, scores in compose_scores(x).items():
            top = rank(scores, 10, exclude=ref)
            hits[method].append(np.pad(top == target, (0, 10 - len(top))))
    return {f"cirr_{split}": {m: recall_at(np.array(h, dtype=bool), (1, 5, 10)) for m, h in hits.items()}}
