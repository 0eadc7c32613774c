"""GeneCIS (Vaze et al., CVPR 2023) from its published task files: conditional similarity, four tasks.

``DIR/<task>.json`` for focus_attribute, change_attribute, focus_object, change_object, as in the
authors' repository (facebookresearch/genecis, folder genecis/). Images, as the authors' loaders read them:

- object tasks name COCO 2017 validation images, ``{"val_image_id": 121506}`` →
  ``IMAGES/val2017/000000121506.jpg``;
- attribute tasks name Visual Genome images with an instance box, ``{"image_id": "2316576",
  "instance_bbox": [x, y, w, h]}`` → ``IMAGES/VG_100K/2316576.jpg`` or ``IMAGES/VG_100K_2/2316576.jpg``;
  the box is enlarged by 0.7 of its size up and left, cropped, and padded to a black square.

Each record's gallery is its target followed by its distractors: the target is position 0, and the metric
is Recall@1/2/3. As the authors' loaders do, records whose gallery length is not the task's most common
one are left out (and counted).
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from PIL import Image

from indexing.evaluation.published import BenchmarkDataError, ImageVectors, image_under, load_json, open_rgb, rank_of, recall
from indexing.query.runner import Context, gallery_snapshot, run
from indexing.query.specs import ConditionQuery, Source
from indexing.model.encoder import Encoder

TASKS = ("focus_attribute", "change_attribute", "focus_object", "change_object")
DILATION = 0.7
KS = (1, 2, 3)
LAYOUT = ("GeneCIS images: COCO val2017 as IMAGES/val2017/<12-digit id>.jpg, Visual Genome as "
          "IMAGES/VG_100K/<id>.jpg or IMAGES/VG_100K_2/<id>.jpg")

ImageKey = tuple  # ("coco", id) or ("vg", id, (x, y, w, h))


def image_key(spec: object, where: str) -> ImageKey:
    """The image a record names, in either of the two published forms."""
    try:
        if isinstance(spec, dict) and "val_image_id" in spec:
            if isinstance(spec["val_image_id"], bool) or not isinstance(spec["val_image_id"], (int, str)):
                raise ValueError("val_image_id")
            return ("coco", int(spec["val_image_id"]))
        if isinstance(spec, dict) and "image_id" in spec and "instance_bbox" in spec:
            if not isinstance(spec["image_id"], (int, str)) or isinstance(spec["image_id"], bool):
                raise ValueError("image_id")
            x, y, w, h = (float(v) for v in spec["instance_bbox"])
            return ("vg", str(spec["image_id"]), (x, y, w, h))
    except (ValueError, TypeError, OverflowError):
        raise BenchmarkDataError(f"{where}: an image id or box is not as published (a whole-number "
                                 f"val_image_id, or an image_id with four numbers in instance_bbox): "
                                 f"{str(spec)[:80]}") from None
    raise BenchmarkDataError(f"{where}: an image is neither {{'val_image_id'}} (COCO) nor {{'image_id', "
                             f"'instance_bbox'}} (Visual Genome): {str(spec)[:80]}")


def read_task(path: Path) -> tuple[list[tuple[ImageKey, str, list[ImageKey]]], int]:
    """(reference, condition, [target, *gallery]) per kept record, and how many were left out."""
    records = load_json(path, "the GeneCIS task files go in DIR/<task>.json")
    if not isinstance(records, list):
        raise BenchmarkDataError(f"{path} is not a list of records.")
    samples = []
    for i, r in enumerate(records):
        where = f"{path.name} record {i}"
        try:
            if not isinstance(r["condition"], str):
                raise BenchmarkDataError(f"{where}: its condition is not text.")
            samples.append((image_key(r["reference"], where), r["condition"],
                            [image_key(s, where) for s in [r["target"], *r["gallery"]]]))
        except (KeyError, TypeError) as exc:
            raise BenchmarkDataError(f"{where} lacks {exc} (reference, condition, target, gallery).") from None
    modal = Counter(len(g) for _, _, g in samples).most_common(1)[0][0] if samples else 0
    kept = [s for s in samples if len(s[2]) == modal]
    return kept, len(samples) - len(kept)


def image_path(images: Path, key: ImageKey) -> Path:
    """Where an image id's file is: COCO's val2017/<12 digits>.jpg, Visual Genome's VG_100K[_2]/<id>.jpg,
    always under ``images`` (an id that climbs out with '../' is refused)."""
    if key[0] == "coco":
        return image_under(images, f"val2017/{key[1]:012d}.jpg", LAYOUT)
    for folder in ("VG_100K", "VG_100K_2"):
        path = image_under(images, f"{folder}/{key[1]}.jpg", LAYOUT)
        if path.is_file():
            return path
    return image_under(images, f"VG_100K/{key[1]}.jpg", LAYOUT)


def crop_instance(image: Image.Image, box: tuple[float, float, float, float]) -> Image.Image:
    """The authors' crop: the box enlarged by 0.7 of its width/height (up and left first), padded square."""
    x, y, w, h = box
    left, top = max(0.0, x - DILATION * w), max(0.0, y - DILATION * h)
    right, bottom = min(image.width, left + (1 + DILATION) * w), min(image.height, top + (1 + DILATION) * h)
    if right <= left or bottom <= top:
        raise BenchmarkDataError(f"the instance box {box} lies outside the {image.width}×{image.height} image")
    crop = image.crop((left, top, right, bottom))
    side = max(crop.size)
    square = Image.new("RGB", (side, side), (0, 0, 0))
    square.paste(crop, ((side - crop.width) // 2, (side - crop.height) // 2))
    return square


def load_image(images: Path, key: ImageKey) -> Image.Image:
    path = image_path(images, key)
    image = open_rgb(path, LAYOUT)
    try:
        return image if key[0] == "coco" else crop_instance(image, key[2])
    except BenchmarkDataError as exc:
        raise BenchmarkDataError(f"{path}: {exc} (is it the Visual Genome 1.2 image of that id?).") from None


def evaluate_genecis(encoder: Encoder, root: Path, images: Path | None = None, tasks: tuple[str, ...] = TASKS,
                     limit: int | None = None) -> dict:
    """task → {queries, left_out, recall: method → R@1/2/3} for each task file present in ``root``."""
    images = images or root
    vectors = ImageVectors(encoder, lambda key: load_image(images, key))
    out = {}
    for task in tasks:
        path = root / f"{task}.json"
        if not path.exists():
            continue
        samples, left_out = read_task(path)
        samples = samples[:limit]
        change = task.startswith("change")
        methods = ("image", "text", "sum", "product") if change else ("image", "text", "sum")
        vectors.encode([k for ref, _, gallery in samples for k in (ref, *gallery)], desc=task)
        ranks: dict[str, list[int]] = {m: [] for m in methods}
        for ref, condition, gallery in samples:
            # a ConditionQuery over a snapshot of the reference and its gallery, read as the task says: a change
            # to the condition's words (its value), or a focus on them (free text: no vocabulary)
            snapshot = gallery_snapshot(["reference"] + [f"g{i}" for i in range(len(gallery))],
                                        vectors[[ref, *gallery]])
            spec = ConditionQuery(Source(item="reference"), condition, {"value": [condition]} if change else {}, 1,
                                  methods=methods)
            results = run(spec, Context(encoder, snapshot, root))
            for method, scores in results.scored.scores.items():
                ranks[method].append(rank_of(scores[1:], 0))
        out[f"genecis_{task}"] = {"queries": len(samples), "left_out": left_out,
                                  "recall": {m: recall(r, KS) for m, r in ranks.items()}}
    if not out:
        raise BenchmarkDataError(f"No GeneCIS task files ({', '.join(t + '.json' for t in tasks)}) in {root}.")
    return out
