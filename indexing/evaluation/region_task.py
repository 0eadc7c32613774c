"""The region task: does matching parts of images find an object wherever it is, better than whole images do?

A collection of the shapes world's two-object scenes and single-object scenes. Each query names one object
("a green star"); its relevant images are every scene that contains it, alone or beside another object, at
any position. "global" ranks whole images (``match='whole'``), "region" ranks each image by its best region
(``match='region'``), both through the one runner over the stored region files, as the app does. The "box"
variant starts from a box drawn around one object of a scene: "region" is a ``RegionQuery`` on that box,
"global" searches whole images with the box cut out as an image. nDCG@10 and recall@10 by trec_eval;
"chance" is a random ranking's expected nDCG@10.
"""
from __future__ import annotations

import io
import random
import tempfile
from pathlib import Path

import numpy as np

from indexing.labels.metrics import evaluate_run
from indexing.model.encoder import Encoder
from indexing.model.regions import READING, region_vectors, regions_available
from indexing.query.runner import Context, gallery_snapshot, run
from indexing.query.specs import NeighboursQuery, QuerySpec, RegionQuery, Source
from indexing.shapes import world
from indexing.store.region_files import RegionFiles

N_PAIRS, N_SINGLES, N_BOXES = 400, 100, 60
SIZE = 128


def _png(image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def region_task(encoder: Encoder, seed: int) -> dict:
    """{"global": {ndcg@10, recall@10}, "region": {…}, "chance": …, "box": {"global", "region", "chance"},
    "queries", "images"}; {"skipped": why} for a model whose image tower has no dense path."""
    if not regions_available(encoder):
        return {"skipped": f"{encoder.spec.label} has no dense path to read region vectors from"}
    singles = world.make_world(N_SINGLES, seed + 21, SIZE)
    pairs = world.pair_world(N_PAIRS, seed + 22, SIZE)
    images = [s.image for s in singles] + [p.image for p in pairs]
    objects = [{f"{s.attributes['color']} {s.attributes['shape']}"} for s in singles] + \
              [{t.label for t in p.scene.things} for p in pairs]
    ids = [f"img-{i}" for i in range(len(images))]
    with tempfile.TemporaryDirectory() as data:
        files = RegionFiles(data, "region-task", encoder.dim, reading=READING)
        files.append(ids, region_vectors(encoder, images))
        context = Context(encoder, gallery_snapshot(ids, encoder.encode_images(images)), Path(data), regions=files)
        names = sorted(set().union(*objects))
        qrels = {n: {ids[i]: 1 for i, o in enumerate(objects) if n in o} for n in names}
        named = {match: _measure({n: NeighboursQuery(Source(text=f"a {n}"), k=100, kind="image", match=match)
                                  for n in names}, qrels, context) for match in ("whole", "region")}
        rng = random.Random(seed)
        boxes, box_qrels = {}, {}
        for n, i in enumerate(rng.sample(range(N_SINGLES, len(images)), N_BOXES)):
            thing = rng.choice(pairs[i - N_SINGLES].scene.things)
            box = world.thing_box(thing, SIZE)
            pad = 0.02
            box = (max(0.0, box[0] - pad), max(0.0, box[1] - pad), min(1.0, box[2] + pad), min(1.0, box[3] + pad))
            crop = images[i].crop(tuple(round(v * SIZE) for v in box))
            qid = f"box-{n}"  # the scene the box is cut from is neither relevant nor ranked: only the others
            box_qrels[qid] = {ids[j]: 1 for j, o in enumerate(objects) if thing.label in o and j != i}
            boxes[qid] = (ids[i], RegionQuery(Source(item=ids[i]), _at_least_a_region(box), k=101),
                          NeighboursQuery(Source(image=_png(crop)), k=101, kind="image"))
        by_box = {"region": _measure({q: b[1] for q, b in boxes.items()}, box_qrels, context,
                                     {q: b[0] for q, b in boxes.items()}),
                  "global": _measure({q: b[2] for q, b in boxes.items()}, box_qrels, context,
                                     {q: b[0] for q, b in boxes.items()})}
    return {"global": named["whole"], "region": named["region"], "chance": _chance(qrels, len(images)),
            "box": {**by_box, "chance": _chance(box_qrels, len(images))},
            "queries": len(names), "box_queries": len(boxes), "images": len(images)}


def _at_least_a_region(box: tuple[float, float, float, float], side: float = 0.25) -> tuple[float, ...]:
    """A box widened (about its centre, inside the image) to at least one region of the grid."""
    out = []
    for lo, hi in ((box[0], box[2]), (box[1], box[3])):
        if hi - lo < side:
            centre = min(max((lo + hi) / 2, side / 2), 1 - side / 2)
            lo, hi = centre - side / 2, centre + side / 2
        out.append((lo, hi))
    return out[0][0], out[1][0], out[0][1], out[1][1]


def _measure(specs: dict[str, QuerySpec], qrels: dict[str, dict[str, int]], context: Context,
             leave_out: dict[str, str] | None = None) -> dict:
    """nDCG@10 and recall@10 of each spec's main ranking (without ``leave_out[qid]``, the box's own scene)."""
    runs = {}
    for qid, spec in specs.items():
        results = run(spec, context)
        ranking = [(item, s) for item, s in results.rankings()[results.main] if item != (leave_out or {}).get(qid)]
        runs[qid] = dict(ranking[:100])
    mean = evaluate_run("m", runs, qrels, k=10).mean
    return {"ndcg@10": round(mean["nDCG@10"], 4), "recall@10": round(mean["Recall@k"], 4)}


def _chance(qrels: dict[str, dict[str, int]], n: int) -> float:
    """A random ranking's expected nDCG@10 with binary grades: each rank holds a relevant image with probability
    r / n, against the ideal of min(r, 10) relevant images first."""
    discounts = 1 / np.log2(np.arange(2, 12))
    values = [(len(rel) / n) * discounts.sum() / discounts[:min(len(rel), 10)].sum() for rel in qrels.values() if rel]
    return round(float(np.mean(values)), 4)

