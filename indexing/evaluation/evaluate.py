"""Retrieval evaluation on a freshly rendered shapes world: task → method → metric → value.

Tasks are registered in ``TASKS``; each takes the encoder and a ``TestWorld`` and returns
``{method: {metric: value}}``. Later tasks (composed, conditional) plug in the same way.
"""
from __future__ import annotations

import random
from pathlib import Path
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from indexing.model import explain
from indexing.shapes import world
from indexing.query.compose import COMPOSE_METHODS
from indexing.query.runner import Context, gallery_snapshot, run as run_spec
from indexing.query.specs import ComposeQuery, ConditionQuery, Source
from indexing.core.ranking import rank
from indexing.model.encoder import Encoder
from indexing.maps.names import Vocabulary, default_terms, name_clusters
from indexing.store.chroma import Record
from indexing.maps.clusters import cluster
from indexing.evaluation.region_task import region_task
from indexing.core.errors import InputError


@dataclass
class TestWorld:
    """A test world rendered from one seed (never a training seed), encoded lazily once."""

    encoder: Encoder
    seed: int
    combos: list[world.WorldItem]

    @cached_property
    def image_vectors(self) -> np.ndarray:
        return self.encoder.encode_images([it.image for it in self.combos])

    @cached_property
    def full_captions(self) -> list[str]:
        return [world.full_caption(it.attributes) for it in self.combos]

    @cached_property
    def caption_vectors(self) -> np.ndarray:
        return self.encoder.encode_texts(self.full_captions)


def recall_at(ranked_hits: np.ndarray, ks: tuple[int, ...]) -> dict[str, float]:
    """``ranked_hits[q, r]`` is True where query q's rank-r result is relevant → R@k (any hit in top k).

    With no queries at all (a gallery too small for the task) every value is None, not a made-up number."""
    if len(ranked_hits) == 0:
        return {f"R@{k}": None for k in ks}
    return {f"R@{k}": round(float(ranked_hits[:, :k].any(axis=1).mean()), 4) for k in ks}


def _ranked(query_vecs: np.ndarray, gallery_vecs: np.ndarray, depth: int) -> np.ndarray:
    scores = query_vecs @ gallery_vecs.T
    return np.argsort(-scores, axis=1, kind="stable")[:, :depth]


def task_t2i(w: TestWorld) -> dict:
    """Full caption → its own image among one render of every combination."""
    order = _ranked(w.caption_vectors, w.image_vectors, 5)
    hits = order == np.arange(len(w.combos))[:, None]
    return {"clip": recall_at(hits, (1, 5))}


def task_i2t(w: TestWorld) -> dict:
    """Image → its full caption among all full captions."""
    order = _ranked(w.image_vectors, w.caption_vectors, 5)
    hits = order == np.arange(len(w.combos))[:, None]
    return {"clip": recall_at(hits, (1, 5))}


def task_t2i_partial(w: TestWorld, n_queries: int = 400) -> dict:
    """Partial caption → any image matching every attribute it names."""
    rng = random.Random(w.seed + 1)
    queries: list[tuple[str, dict[str, str]]] = []
    for _ in range(n_queries):
        attrs = rng.choice(w.combos).attributes
        template = rng.choice(world.PARTIAL_TEMPLATES)
        text = world.partial_captions(attrs)[world.PARTIAL_TEMPLATES.index(template)]
        queries.append((text, {k: attrs[k] for k in world.template_keys(template)}))
    order = _ranked(w.encoder.encode_texts([q for q, _ in queries]), w.image_vectors, 5)
    gallery = [it.attributes for it in w.combos]
    hits = np.array([[all(gallery[j][k] == v for k, v in named.items()) for j in row]
                     for row, (_, named) in zip(order, queries)])
    return {"clip": recall_at(hits, (1, 5))}


def _by_attributes(w: TestWorld) -> dict[tuple, int]:
    return {tuple(it.attributes[k] for k in world.ATTRIBUTES): i for i, it in enumerate(w.combos)}


def task_cir(w: TestWorld, n_queries: int = 300, lam: float = 0.5) -> dict:
    """Reference + modification of one attribute → the combination equal in every other attribute."""
    rng = random.Random(w.seed + 2)
    index = _by_attributes(w)
    refs, targets, texts = [], [], []
    for _ in range(n_queries * 20):
        if len(refs) == n_queries:
            break
        ref = rng.randrange(len(w.combos))
        attrs = w.combos[ref].attributes
        key = rng.choice(list(world.ATTRIBUTES))
        value = rng.choice([v for v in world.ATTRIBUTES[key] if v != attrs[key]])
        target = index.get(tuple({**attrs, key: value}[k] for k in world.ATTRIBUTES))
        if target is None:  # a partial gallery may lack the target: not a query
            continue
        refs.append(ref)
        targets.append(target)
        texts.append(world.modification_text(key, value))
    context = Context(w.encoder, gallery_snapshot([str(i) for i in range(len(w.image_vectors))], w.image_vectors),
                      Path("."))
    out: dict[str, list] = {m: [] for m in COMPOSE_METHODS}
    for ref, target, text in zip(refs, targets, texts):  # each a ComposeQuery through the one runner
        results = run_spec(ComposeQuery(Source(item=str(ref)), text, lam, COMPOSE_METHODS, k=10), context)
        for method, top in results.top.items():
            out[method].append(np.array(top) == target)
    return {m: recall_at(_pad(hits, 10), (1, 5, 10)) for m, hits in out.items()}


def _pad(rows: list[np.ndarray], depth: int) -> np.ndarray:
    return np.array([np.pad(r, (0, depth - len(r))) for r in rows], dtype=bool).reshape(len(rows), depth)


def _genecis_gallery(w: TestWorld, rng: random.Random, ref: int, key: str, change_to: str | None,
                     size: int = 15) -> tuple[int, list[int]] | None:
    """A target and distractors for one reference, as in GeneCIS.

    focus (change_to None): the target shares the reference's value of ``key`` and differs elsewhere;
    distractors share other attributes with the reference but not that value.
    change: the target has ``change_to`` and keeps every other attribute; distractors either keep the
    reference's value or take the new value while changing something else.
    """
    ref_attrs = w.combos[ref].attributes
    others = [k for k in world.ATTRIBUTES if k != key]
    if change_to is None:
        targets = [i for i, it in enumerate(w.combos) if i != ref and it.attributes[key] == ref_attrs[key]
                   and sum(it.attributes[k] == ref_attrs[k] for k in others) <= 1]
        distractors = [i for i, it in enumerate(w.combos) if it.attributes[key] != ref_attrs[key]
                       and sum(it.attributes[k] == ref_attrs[k] for k in others) >= 3]
    else:
        want = {**ref_attrs, key: change_to}
        targets = [i for i, it in enumerate(w.combos) if it.attributes == want]
        distractors = [i for i, it in enumerate(w.combos) if i != ref and (
            (it.attributes[key] == ref_attrs[key] and sum(it.attributes[k] == ref_attrs[k] for k in others) >= 3)
            or (it.attributes[key] == change_to and sum(it.attributes[k] == ref_attrs[k] for k in others) == 2))]
    if not targets or len(distractors) < size - 1:
        return None
    return rng.choice(targets), rng.sample(distractors, size - 1)


def _conditional_task(w: TestWorld, change: bool, n_queries: int = 300) -> dict:
    """Each query a ``ConditionQuery`` through the one runner, over a snapshot of the reference and its gallery:
    the attribute's name to focus on it, or the new value's word to change to it, as typed on the Condition
    page, with the attribute's value words as the vocabulary."""
    rng = random.Random(w.seed + (4 if change else 3))
    methods = ("image", "sum", "basis", "product") if change else ("image", "sum", "basis")
    hits: dict[str, list] = {m: [] for m in methods}
    tries = 0
    while len(hits["image"]) < n_queries and tries < n_queries * 5:
        tries += 1
        ref = rng.randrange(len(w.combos))
        key = rng.choice(list(world.ATTRIBUTES))
        value = rng.choice([v for v in world.ATTRIBUTES[key] if v != w.combos[ref].attributes[key]]) if change else None
        picked = _genecis_gallery(w, rng, ref, key, value)
        if picked is None:
            continue
        target, distractors = picked
        gallery = [ref, target] + distractors
        words = _value_words(key)
        condition = words[list(world.ATTRIBUTES[key]).index(value)] if change else key
        snapshot = gallery_snapshot([str(i) for i in range(len(gallery))], w.image_vectors[gallery])
        results = run_spec(ConditionQuery(Source(item="0"), condition, {key: words}, 3, methods=methods),
                           Context(w.encoder, snapshot, Path(".")))
        for method, top in results.top.items():
            hits[method].append(np.array(top) == 1)
    return {m: recall_at(_pad(h, 3), (1, 2, 3)) for m, h in hits.items()}


def _value_words(key: str) -> list[str]:
    """The world's values of ``key`` as the words a user would type (positions as in captions)."""
    if key == "background":
        return [f"a {v} background" for v in world.ATTRIBUTES[key]]
    if key == "position":
        return ["in the center" if v == "center" else v for v in world.ATTRIBUTES[key]]
    return list(world.ATTRIBUTES[key])


def task_focus_attribute(w: TestWorld) -> dict:
    """Reference + attribute type → the one gallery item sharing that attribute's value (GeneCIS focus)."""
    return _conditional_task(w, change=False)


def task_change_attribute(w: TestWorld) -> dict:
    """Reference + new value → the item with that value that keeps the others (GeneCIS change)."""
    return _conditional_task(w, change=True)


# ---- labels that pay off: the world plays the annotator ---------------------------------------------
INTENT = "same shape, any colour"


def intent_grades(w: TestWorld, ref: int) -> np.ndarray:
    """The intent's grades for reference ``ref``: 0 for another shape; else 1 + how many of size, background
    and position also match (at most 3). Colour never counts, which the base model weighs heavily."""
    a = w.combos[ref].attributes
    grades = np.array([0 if it.attributes["shape"] != a["shape"] else
                       min(3, 1 + sum(it.attributes[k] == a[k] for k in ("size", "background", "position")))
                       for it in w.combos])
    grades[ref] = 0
    return grades


def _query_scores(w: TestWorld, ref: int) -> np.ndarray:
    scores = (w.image_vectors @ w.image_vectors[ref]).astype(np.float64)
    scores[ref] = -np.inf  # a query never returns itself
    return scores


def _split(w: TestWorld, n_train: int, n_test: int, seed: int) -> tuple[list[int], list[int]]:
    refs = random.Random(seed).sample(range(len(w.combos)), n_train + n_test)
    return refs[:n_train], refs[n_train:]


def _f1(kept: np.ndarray, relevant: np.ndarray) -> float:
    tp = float((kept & relevant).sum())
    return 0.0 if tp == 0 else 2 * tp / (kept.sum() + relevant.sum())


def task_relevance_filter(w: TestWorld, n_train: int = 30, pool: int = 50, n_test: int = 100,
                          threshold: float = 0.5) -> dict:
    """Fit score → P(same shape) from the pools a labeller would judge (top ``pool`` of ``n_train`` image
    queries), then on held-out queries: ECE over each one's top ``pool`` (the depth that was judged), and F1
    of "P ≥ 0.5" against every item of the same shape in the collection, beside a fixed top 10 and a single
    raw-cosine threshold fitted on the same pools."""
    from indexing.labels.calibration import expected_calibration_error, features, fit, query_stats

    train, test = _split(w, n_train, n_test, w.seed + 15)
    rows, labels = [], []
    for ref in train:
        scores = _query_scores(w, ref)
        top = rank(scores, pool)
        rows.append(features(scores[top], query_stats(scores)))
        labels.append(intent_grades(w, ref)[top] >= 1)
    x, y = np.vstack(rows), np.concatenate(labels)
    cal = fit(x, y, len(train))
    cut = max(np.unique(x[:, 0]), key=lambda t: _f1(x[:, 0] >= t, y))  # the best single cosine on the pools
    probs, truth, f1 = [], [], {"top-10": [], "raw cosine threshold": [], f"calibrated P ≥ {threshold}": []}
    kept_counts = []
    for ref in test:
        scores, relevant = _query_scores(w, ref), intent_grades(w, ref) >= 1
        p = cal.probability(scores, query_stats(scores))
        judged_depth = rank(scores, pool)
        probs.append(p[judged_depth])
        truth.append(relevant[judged_depth])
        top10 = np.zeros(len(scores), bool)
        top10[rank(scores, 10)] = True
        f1["top-10"].append(_f1(top10, relevant))
        f1["raw cosine threshold"].append(_f1(scores >= cut, relevant))
        f1[f"calibrated P ≥ {threshold}"].append(_f1(p >= threshold, relevant))
        kept_counts.append(int((p >= threshold).sum()))
    out = {m: {"f1": round(float(np.mean(v)), 4)} for m, v in f1.items()}
    out[f"calibrated P ≥ {threshold}"].update(
        ece=round(expected_calibration_error(np.concatenate(probs), np.concatenate(truth)), 4),
        mean_kept=round(float(np.mean(kept_counts)), 1), mean_relevant=round(float(np.mean(
            [int((intent_grades(w, r) >= 1).sum()) for r in test])), 1), judgments=int(len(y)))
    return out


def _ndcg10(scores: np.ndarray, grades: np.ndarray) -> float:
    """nDCG@10 by trec_eval (pytrec_eval) over the top 100 against every graded item."""
    from indexing.labels.metrics import trec_measures

    run = {"q": {str(i): float(scores[i]) for i in rank(scores, 100) if np.isfinite(scores[i])}}
    qrels = {"q": {str(i): int(g) for i, g in enumerate(grades) if g > 0}}
    return trec_measures(run, qrels)["ndcg_cut_10"] if qrels["q"] else 0.0


def task_adapter(w: TestWorld, n_train: int = 20, pool: int = 10, n_test: int = 100, n_folds: int = 5) -> dict:
    """Train the adapter on ``n_train`` × ``pool`` judged items (≤ 200) of image queries, graded by the intent;
    nDCG@10 of held-out queries (never trained on) before and after, mean and spread over ``n_folds``
    independent random splits of the world's images into training and held-out queries."""
    from indexing.query.adapter import TrainingQuery, train as train_adapter

    before, after, seconds = [], [], []
    for fold in range(n_folds):
        train_refs, test_refs = _split(w, n_train, n_test, w.seed + 100 + fold)
        judged = []
        for ref in train_refs:
            top = rank(_query_scores(w, ref), pool)
            judged.append(TrainingQuery(str(ref), w.image_vectors[ref], w.image_vectors[top],
                                        intent_grades(w, ref)[top]))
        adapter = train_adapter(judged)
        seconds.append(adapter.meta["train_seconds"])
        b, a = [], []
        items = adapter.apply(w.image_vectors)
        for ref in test_refs:
            grades = intent_grades(w, ref)
            b.append(_ndcg10(_query_scores(w, ref), grades))
            scores = (items @ adapter.apply(w.image_vectors[ref])).astype(np.float64)
            scores[ref] = -np.inf
            a.append(_ndcg10(scores, grades))
        before.append(np.mean(b))
        after.append(np.mean(a))
    judged_items = n_train * pool
    return {"plain cosine": {"ndcg@10": round(float(np.mean(before)), 4), "spread": round(float(np.std(before)), 4)},
            "adapter": {"ndcg@10": round(float(np.mean(after)), 4), "spread": round(float(np.std(after)), 4),
                        "gain": round(float(np.mean(np.array(after) - np.array(before))), 4),
                        "judged_items": judged_items, "splits": n_folds,
                        "train_seconds": round(float(np.mean(seconds)), 2)}}


def task_pointing(w: TestWorld, n_scenes: int = 100) -> dict:
    """Pointing game on two-object scenes: the query names one object ("a red circle"); a hit is the
    heatmap's peak inside that object's box; ``other_object``: the peak inside the other object's box
    instead. Chance is the box's share of the image."""
    scenes = world.pair_world(n_scenes, w.seed + 11)
    rng = random.Random(w.seed + 11)
    picks = [rng.randrange(2) for _ in scenes]
    named = [item.scene.things[p] for item, p in zip(scenes, picks)]
    targets = w.encoder.encode_texts([f"a {thing.label}" for thing in named])
    boxes = [world.thing_box(thing) for thing in named]
    others = [world.thing_box(item.scene.things[1 - p]) for item, p in zip(scenes, picks)]
    chance = round(float(np.mean([(x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in boxes])), 4)
    methods = [m for m in explain.METHODS if m != "dense" or explain.dense_method_available(w.encoder)]
    out = {}
    for method in methods:
        peaks = [explain.heatmap(w.encoder, item.image, target, method).peak() for item, target in zip(scenes, targets)]
        hits = [_inside(p, box) for p, box in zip(peaks, boxes)]
        wrong = [_inside(p, box) for p, box in zip(peaks, others)]
        out[method] = {"accuracy": round(float(np.mean(hits)), 4), "other_object": round(float(np.mean(wrong)), 4),
                       "chance": chance, "n": len(hits)}
    return out


def _inside(point: tuple[float, float], box: tuple[float, float, float, float]) -> bool:
    x, y = point
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def task_cluster_names(w: TestWorld, n_items: int = 600) -> dict:
    """Clusters of a rendered collection, named as the Map names them; each name term scored by the share of
    the cluster's members whose attribute has the named value (a term naming no attribute value scores 0).
    ``attribute_words``: the vocabulary is exactly the attribute words; ``default_vocabulary``: the Map's
    default (the items' metadata values plus the general list). Chance: a term of the vocabulary at random."""
    items = world.make_world(n_items, w.seed + 19)
    vectors = w.encoder.encode_images([it.image for it in items])
    records = [Record(f"item-{i}", "image", it.name, None, dict(it.attributes)) for i, it in enumerate(items)]
    found = cluster(vectors)
    meaning = {v: (a, v) for a, values in world.ATTRIBUTES.items() for v in values}

    def share(members: np.ndarray, term: str) -> float:
        if term not in meaning:
            return 0.0
        attribute, value = meaning[term]
        return float(np.mean([items[i].attributes[attribute] == value for i in members]))

    out = {}
    for method, terms in (("attribute_words", list(meaning)), ("default_vocabulary", default_terms(records))):
        vocabulary = Vocabulary.of(terms, records)
        names = name_clusters(found, records, vectors, w.encoder, vocabulary)
        agreement, first, chance = [], [], []
        for c, name in enumerate(names):
            if not name.terms:
                continue  # named by its size: no term was held by most of its members
            members = np.flatnonzero(found.labels == c)
            agreement.append(np.mean([share(members, t) for t in name.terms]))
            first.append(share(members, name.terms[0]))
            chance.append(np.mean([share(members, t) for t in vocabulary.terms]))
        out[method] = {"agreement": round(float(np.mean(agreement)), 4) if agreement else None,
                       "first_term": round(float(np.mean(first)), 4) if first else None,
                       "chance": round(float(np.mean(chance)), 4) if chance else None,
                       "terms": len(vocabulary.terms), "clusters": len(found.sizes),
                       "named": len(agreement), "n": n_items}
    return out


def demo_cluster_names(encoder: Encoder, seed: int, n: int | None = None) -> dict:
    """The Map's region names on the world the Ingest page loads (its shapes, two-object scenes and captions,
    de-duplicated as an ingest does, clustered as the Map clusters), per vocabulary: ``agreement`` (over every
    named term, the share of its region's members whose metadata carries it), ``contradictions`` (named terms
    carried by fewer than half their region's members, or by none), ``regions``, ``named`` (regions with a
    name of terms; the rest are named by their size) and the first few contradicted names."""
    from indexing.maps.names import Carried
    from indexing.shapes.demo import DEFAULT_N, DEMO_PAIR_SHARE, demo_plan
    from indexing.ingest.pipeline import read_item
    from indexing.ingest.media import decode_image

    records, pictures, texts, seen = [], [], [], set()
    for item in demo_plan(n or DEFAULT_N, seed, pair_share=DEMO_PAIR_SHARE).items:
        record, data = read_item(item)
        if record.id in seen:
            continue  # a repeated caption: stored once, as the Ingest page stores it
        seen.add(record.id)
        (pictures if data is not None else texts).append((len(records), data if data is not None else record.text))
        records.append(record)
    vectors = np.zeros((len(records), encoder.dim), np.float32)
    vectors[[i for i, _ in pictures]] = encoder.encode_images([decode_image(d, encoder.image_size) for _, d in pictures])
    if texts:
        vectors[[i for i, _ in texts]] = encoder.encode_texts([t for _, t in texts])
    found = cluster(vectors)
    attribute_words = sorted({v for values in world.ATTRIBUTES.values() for v in values})
    out = {}
    for method, terms in (("default_vocabulary", default_terms(records)), ("attribute_words", attribute_words)):
        vocabulary = Vocabulary.of(terms, records)
        names = name_clusters(found, records, vectors, encoder, vocabulary)
        truth = Carried(records, vectors, vocabulary)  # metadata only
        shares, contradicted = [], []
        for c, name in enumerate(names):
            if name.method not in ("zero-shot", "size"):
                continue  # text regions keep their c-TF-IDF words: not vocabulary terms
            members = np.flatnonzero(found.labels == c)
            for term in name.terms:
                share = float(truth.support(members, np.array([truth.index[term]]))[0])
                shares.append(share)
                if share < 0.5:
                    contradicted.append([name.label, term, round(share, 3)])
        out[method] = {"agreement": round(float(np.mean(shares)), 4) if shares else None,
                       "contradictions": len(contradicted), "regions": len(found.sizes),
                       "named": sum(bool(n.terms) for n in names), "items": len(records),
                       "contradicted": contradicted[:10]}
    return out


def task_region(w: TestWorld) -> dict:
    """Region search on two-object scenes (``indexing.evaluation.region_task``)."""
    return region_task(w.encoder, w.seed)


TASKS: dict[str, Callable[[TestWorld], dict]] = {
    "t2i": task_t2i,
    "i2t": task_i2t,
    "t2i_partial": task_t2i_partial,
    "cir": task_cir,
    "focus_attribute": task_focus_attribute,
    "change_attribute": task_change_attribute,
    "relevance_filter": task_relevance_filter,
    "adapter": task_adapter,
    "pointing": task_pointing,
    "region": task_region,
    "cluster_names": task_cluster_names,
}


def parse_tasks(spec: str) -> list[str]:
    """``all`` or a comma-separated list of task names, validated."""
    names = list(TASKS) if spec.strip() in {"", "all"} else [t.strip() for t in spec.split(",") if t.strip()]
    unknown = [t for t in names if t not in TASKS]
    if unknown:
        raise InputError(f"Unknown task(s) {', '.join(unknown)}; choose from {', '.join(TASKS)} or 'all'.")
    return names


WORLDS = ("shapes", "demo")  # demo: the world the Ingest page loads (shapes, two-object scenes, captions)
TaskProgress = Callable[[str, "float | None"], None]
"""``on_task(name, None)`` as a task starts, ``on_task(name, seconds)`` when it is done."""


def evaluate(encoder: Encoder, world_name: str = "shapes", seed: int = world.DEFAULT_EVAL_SEED,
             tasks: str = "all", combos: list[world.WorldItem] | None = None,
             on_task: TaskProgress | None = None) -> dict:
    """Run the selected tasks on a test world rendered from ``seed`` (refused if it is a training seed)."""
    if world_name not in WORLDS:
        raise InputError(f"Unknown world {world_name!r}; choose {' or '.join(WORLDS)}.")
    world.evaluation_seed(seed)
    names = parse_tasks(tasks)
    if world_name == "demo":
        if names != ["cluster_names"]:
            raise InputError("The demo world (what the Ingest page loads) is evaluated by --task cluster_names; "
                             "the other tasks run on --world shapes.")
        runs = {"cluster_names": lambda: demo_cluster_names(encoder, seed)}
    else:
        w = TestWorld(encoder, seed, combos if combos is not None else world.combination_world(seed))
        runs = {name: (lambda name=name: TASKS[name](w)) for name in names}
    result = {}
    for name, run in runs.items():
        if on_task:
            on_task(name, None)
        started = time.perf_counter()
        result[name] = run()
        if on_task:
            on_task(name, time.perf_counter() - started)
    return result
