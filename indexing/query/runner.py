"""The one way a query is answered: spec → query vector(s) → each method's scores → ranked ``Results``.

``run(spec, context)`` finds the function that answers the spec's type in the one spec registry
(``indexing.query.specs.REGISTRY``; registered here with ``@answers``), which scores every item of the
collection under each of the type's methods, refines with ``FEEDBACK`` when the spec asks for it,
and ranks exactly over the collection's cached float32 matrix. Every page, the saved queries that Label
pools, the map overlay, the command line and the benchmarks go through it, so what is judged is what
was seen. A new question type is a registered spec class and one answering function (and their test).

Exact search rather than Chroma's HNSW: ~10 ms per query at 100k vectors here, recall 1.0 by
construction, where Chroma's defaults recalled under a third of the exact top 10 on clustered data
(``python -m benchmarks.query``). From ``COMPACT_FROM`` items a Neighbours query scores int8 codes of the
vectors and re-scores a shortlist exactly (``Snapshot.cosines``, ``indexing.store.compact``): its results are
still exact cosines, and only the shortlist's rows of the float32 file are read.
"""
from __future__ import annotations

import math

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from indexing.query.adapter import Adapter
from indexing.store.compact import Int8Vectors, cosines
from indexing.query.compose import ComposeInputs, compose_scores, split_clauses, weighted_sum
from indexing.query.condition import Condition, ConditionInputs, condition_scores, methods_for, parse_condition, text_basis
from indexing.model.encoder import Encoder
from indexing.model.explain import Why
from indexing.ingest.media import MAX_IMAGE_BYTES, MediaError, decode_image, inside, read_bounded
from indexing.query.specs import (ComposeQuery, ConditionQuery, Feedback, NeighboursQuery, QueryError,
                                  QuerySpec, RegionQuery, Source, checked_k, registered)
from indexing.model.regions import cells_in, region_vectors
from indexing.store.region_files import RegionFiles
from indexing.core.ranking import keep_only, normalise, ranks_of, top_k
from indexing.ingest.region_pass import READ_PX
from indexing.ingest.sources import image_id
from indexing.store.chroma import Hit, Record

Ranking = list[tuple[str, float]]  # (item id, score), best first
COMPACT_FROM = 200_000  # collections this large search int8 codes (a quarter of float32) and re-rank exactly
SHORTLIST = 100  # at least this many re-scored at full precision per compact search, and 4× the depth asked for


@dataclass
class Snapshot:
    """The collection at one version: every record and its unit vector, with lookups built once."""

    records: list[Record]
    vectors: np.ndarray
    _rows: tuple[dict, np.ndarray] | None = field(default=None, repr=False)  # rows_in's last answer

    @cached_property
    def index(self) -> dict[str, int]:
        return {r.id: i for i, r in enumerate(self.records)}

    def rows_in(self, index: dict[str, int]) -> np.ndarray:
        """Each record's row in ``index`` (-1: none), kept while the same index is asked (a million lookups)."""
        if self._rows is None or self._rows[0] is not index:
            rows = np.array([index.get(r.id, -1) for r in self.records], np.int64)
            rows.flags.writeable = False  # shared by every query on this version
            self._rows = (index, rows)
        return self._rows[1]

    @cached_property
    def kinds(self) -> np.ndarray:
        return np.array([r.kind for r in self.records], dtype=object)

    @cached_property
    def compact(self) -> Int8Vectors | None:
        """The vectors' int8 codes, from ``COMPACT_FROM`` items (built on first use, once per version)."""
        return Int8Vectors(self.vectors) if len(self.records) >= COMPACT_FROM else None

    def cosines(self, query: np.ndarray, allowed: np.ndarray | None = None, depth: int = 10) -> np.ndarray:
        """Every item's cosine with the unit vector ``query`` (-inf outside ``allowed``): one product over
        the float32 matrix, or from ``COMPACT_FROM`` items int8 estimates of which the best
        max(``SHORTLIST``, 4 × ``depth``) are re-scored exactly (``indexing.store.compact.cosines``), so a top
        ``depth`` is exact cosines in exact order, and misses an item only if its estimate fell outside the
        shortlist; the scores below the shortlist are estimates, capped below the exact ones."""
        if self.compact is None:
            return keep_only(self.vectors @ query, allowed)
        return cosines(self.compact, self.vectors, query, max(SHORTLIST, 4 * (depth + 1)), allowed)

    def allowed(self, kind: str | None = None, filters: dict[str, str] | None = None) -> np.ndarray | None:
        """Boolean mask of the items of ``kind`` matching every filter (None: no restriction)."""
        mask = None if kind is None else self.kinds == kind
        for key, value in (filters or {}).items():
            match = np.array([str(r.metadata.get(key)) == str(value) for r in self.records], bool)
            mask = match if mask is None else mask & match
        return mask


def gallery_snapshot(ids: list[str], vectors: np.ndarray) -> Snapshot:
    """Images outside any store (a benchmark's gallery, the shapes world's) as a snapshot specs run over."""
    return Snapshot([Record(i, "image", i, None) for i in ids], np.asarray(vectors, np.float32))


@dataclass
class Context:
    """What a run reads: the encoder, the collection, where saved query images live, and this query's grades."""

    encoder: Encoder
    snapshot: Snapshot
    data_dir: Path
    grades: dict[str, int] = field(default_factory=dict)  # item → grade, what feedback learns from
    adapted: Callable[[str], tuple[Adapter, np.ndarray]] | None = None  # name → (adapter, adapted item matrix)
    depth: int = 10  # how many results the run returns per method (``run`` sets it)
    regions: RegionFiles | None = None  # the collection's region vectors (region matching, search by region)


@dataclass
class Scored:
    """What a registered method returns: each method's score of every item (-inf: never returned)."""

    scores: dict[str, np.ndarray]
    query: np.ndarray  # the main method's query vector: where the query sits on the map; what feedback refines
    main: str  # the method a page shows first, puts on the map and saves
    exclude: int | None = None  # the query's own item, never in its results
    allowed: np.ndarray | None = None  # the items any refinement may return too
    notes: list[str] = field(default_factory=list)
    condition: Condition | None = None  # how a condition was read (Condition queries)
    items: np.ndarray | None = None  # the item vectors ``query`` was scored against, when not the stored ones
    cells: dict[int, list[int]] = field(default_factory=dict)  # top item → the regions that matched (rings)

    def own_scores(self, method: str | None = None) -> np.ndarray:
        """A method's scores (default: the main one) with the query's own item masked: what describes the
        query's distribution, and what a benchmark ranks."""
        scores = self.scores[method or self.main]
        if self.exclude is None:
            return scores
        scores = scores.copy()
        scores[self.exclude] = -np.inf
        return scores


@dataclass
class Results:
    """Each method's top items (indices into the snapshot, best first) with their scores."""

    spec: QuerySpec
    snapshot: Snapshot
    scored: Scored
    top: dict[str, list[int]]
    _ranks: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # filled on first use

    @property
    def methods(self) -> list[str]:
        return list(self.top)

    @property
    def main(self) -> str:
        return self.scored.main

    @property
    def query_vector(self) -> np.ndarray:
        return self.scored.query

    @property
    def exclude(self) -> int | None:
        return self.scored.exclude

    def matched_regions(self) -> dict[str, list[int]]:
        """item id → the grid cells that matched, for region queries' top items (rings on their "Why?")."""
        records = self.snapshot.records
        return {records[i].id: cells for i, cells in self.scored.cells.items()}

    def placement_scores(self) -> np.ndarray | None:
        """How close the query is to every item, for placing it on a map: None for a query that is an item
        (placed at it); the plain cosines a neighbours query already scored; else its vector's cosines."""
        if self.exclude is not None:
            return None
        scored = self.scored
        if scored.main == "clip" and scored.allowed is None and scored.items is None:
            return scored.scores["clip"]
        return self.snapshot.cosines(normalise(self.query_vector))

    @property
    def notes(self) -> list[str]:
        return self.scored.notes

    @property
    def condition(self) -> Condition | None:
        return self.scored.condition

    def scores(self, method: str | None = None) -> list[float]:
        s = self.scored.scores[method or self.main]
        return [float(s[i]) for i in self.top[method or self.main]]

    def hits(self, method: str | None = None) -> list[Hit]:
        """The method's results as records with their scores (the main method by default)."""
        records = self.snapshot.records
        return [records[i].with_score(s) for i, s in zip(self.top[method or self.main], self.scores(method))]

    def rankings(self) -> dict[str, Ranking]:
        """method → [(item id, score)], best first: what Label pools and exports as TREC runs."""
        records = self.snapshot.records
        return {m: [(records[i].id, s) for i, s in zip(self.top[m], self.scores(m))] for m in self.top}

    def ranks(self, method: str) -> np.ndarray:
        """1-based rank of every item under ``method`` (computed on first use)."""
        if method not in self._ranks:
            self._ranks[method] = ranks_of(self.scored.scores[method], self.exclude)
        return self._ranks[method]


Answer = Callable[[QuerySpec, Context], Scored]
Refinement = Callable[[Scored, Feedback, np.ndarray, dict[str, int], dict[str, int]], np.ndarray]
FEEDBACK: dict[str, Refinement] = {}


def answers(spec_class: type) -> Callable[[Answer], Answer]:
    """Decorator: the function that scores queries of ``spec_class`` (a class registered with ``@spec_type``)."""
    def add(fn: Answer) -> Answer:
        registered(spec_class).answer = fn
        return fn
    return add


def run(spec: QuerySpec, context: Context, k: int | None = None) -> Results:
    """Answer ``spec``: each method's top ``k`` (default: the spec's own k), plus its feedback method if any."""
    method = registered(type(spec)).answer
    if method is None:
        raise QueryError(f"No function answers a {type(spec).__name__}.")
    depth = spec.k if k is None else checked_k(k)
    scored = method(spec, replace(context, depth=depth))
    if spec.feedback is not None:  # in the space the query was scored in (an adapter's, if it used one)
        items = context.snapshot.vectors if scored.items is None else scored.items
        refined = FEEDBACK[spec.feedback.method](scored, spec.feedback, items, context.grades, context.snapshot.index)
        scored.scores[spec.feedback.method] = keep_only(items @ refined, scored.allowed)
    return Results(spec, context.snapshot, scored,
                   {m: top_k(s, depth, scored.exclude) for m, s in scored.scores.items()})


# ---- the resolver: a query's source → its unit vector ----------------------------------------------
@dataclass
class Resolved:
    """A query source, resolved once: its unit vector, the stored item it is (an item query, or image bytes whose
    content id is stored), and a note saying which item a query by name took."""

    vector: np.ndarray
    item: int | None = None
    note: str | None = None


def resolve_source(source: Source, context: Context) -> Resolved:
    """The source's unit vector, the stored item it is if any (which a reference or item query never returns),
    and a note when an item was found by its name."""
    encoder = context.encoder
    if source.item is not None:
        i, note = find_item(context.snapshot, source.item)
        return Resolved(context.snapshot.vectors[i], i, note)
    if source.text is not None:
        return Resolved(encoder.encode_texts([source.text.strip()])[0])
    data = _image_bytes(source, context)
    return Resolved(encoder.encode_images([decode_image(data, encoder.image_size)])[0],
                    context.snapshot.index.get(image_id(data)))


def find_item(snapshot: Snapshot, given: str) -> tuple[int, str | None]:
    """The index of the item ``given`` names — its id, else its file name, else a prefix of exactly one item's
    file name — and a note saying which item was taken when ``given`` was not its id (the first in the
    collection when several share that name). ``QueryError`` when nothing matches or a prefix is ambiguous."""
    i = snapshot.index.get(given)
    if i is not None:
        return i, None
    exact = [j for j, r in enumerate(snapshot.records) if r.name == given]
    matches = exact or [j for j, r in enumerate(snapshot.records) if r.name.startswith(given)]
    if not matches:
        raise QueryError(f"No item {given!r} in the index for this model (no id or file name matches); "
                         "pick one from the results (each card shows its id).")
    if len(matches) > 1 and not exact:
        shown = ", ".join(snapshot.records[j].name for j in matches[:3])
        raise QueryError(f"{len(matches)} file names start with {given!r} ({shown}{' …' if len(matches) > 3 else ''})"
                         "; type more of the name, or the item's id.")
    taken = snapshot.records[matches[0]]
    several = f", the first of {len(matches)} items with that name" if len(matches) > 1 else ""
    return matches[0], f"{given!r} is item {taken.id} ({taken.name}{several})"


def _image_bytes(source: Source, context: Context) -> bytes:
    """An image source's bytes: uploaded, or its saved copy under the data directory."""
    if source.image is not None:
        return source.image
    path = inside(context.data_dir, source.image_path)
    if path is None:
        raise QueryError(f"The query image {source.image_path} is not under the data directory; refused.")
    if not path.is_file():
        raise QueryError(f"The query image {source.image_path} is no longer under {context.data_dir}; "
                         "save the query again with the image.")
    try:
        return read_bounded(path, MAX_IMAGE_BYTES, "image")
    except (MediaError, OSError):
        raise QueryError(f"The query image {source.image_path} cannot be read; save the query again with the "
                         "image.") from None


def _reference(source: Source, context: Context) -> tuple[np.ndarray, int | None, list[str]]:
    """The reference image's vector, its index when it is in the collection (picked, or uploaded bytes whose
    content id is stored: it never appears in its own results), and the notes that say which item it is."""
    if len(context.snapshot.records) == 0:
        raise QueryError("The collection is empty; add images on the Ingest page first.")
    ref = resolve_source(source, context)
    if ref.item is not None and context.snapshot.records[ref.item].kind != "image":
        raise QueryError("The reference must be an image; this item is a text. Pick an image item.")
    notes = [ref.note] if ref.note else []
    if source.kind == "image" and ref.item is not None:
        record = context.snapshot.records[ref.item]
        notes.append(f"The reference image is item {record.id} ({record.name}) of the collection: it is left out "
                     "of its own results.")
    return ref.vector, ref.item, notes


def why_target(spec: QuerySpec, context: Context) -> Why:
    """What a result of ``spec`` is explained against (``indexing.model.explain``): the query itself for
    neighbours, the modification text for compose, and for a condition the value the reference has
    (focus on an attribute) or the condition's own words (an object, a change). An adapter or feedback
    that re-ranked the results is not in the heatmap; the label says so."""
    why = _plain_target(spec, context)
    used = [name for name, present in (("its adapter", spec.adapter),
                                       ("feedback", spec.feedback is not None)) if present]
    return Why(why.vector, f"{why.label} (the ranking also used {' and '.join(used)})") if used else why


def _plain_target(spec: QuerySpec, context: Context) -> Why:
    encoder = context.encoder
    if isinstance(spec, NeighboursQuery):
        source = spec.source
        vector = resolve_source(source, context).vector
        label = f"“{source.text.strip()}”" if source.text is not None else \
            "the query item" if source.item is not None else "the query image"
        return Why(vector, label)
    if isinstance(spec, ComposeQuery):
        return Why(encoder.encode_texts([spec.text.strip()])[0], f"the modification “{spec.text.strip()}”")
    if isinstance(spec, ConditionQuery):
        cond = parse_condition(spec.condition, spec.vocabulary)
        if cond.kind == "focus":
            reference, _, _ = _reference(spec.reference, context)
            values = encoder.encode_texts(list(cond.values))
            best = int(np.argmax(values @ reference))
            return Why(values[best], f"“{cond.values[best]}”, the reference's {cond.attribute}")
        return Why(encoder.encode_texts([cond.text])[0], f"the condition “{cond.text}”")
    if isinstance(spec, RegionQuery):
        return Why(normalise(_box_tokens(spec, context)[0].mean(axis=0)), "the part in the box")
    raise QueryError(f"No explanation target for a {type(spec).__name__}.")


# ---- registered methods ------------------------------------------------------------------------------
@answers(NeighboursQuery)
def neighbours(spec: NeighboursQuery, context: Context) -> Scored:
    """Cosine to the source, among items of the spec's kind and filters ('clip')."""
    if len(context.snapshot.records) == 0:
        return Scored({"clip": np.zeros(0, np.float32)}, np.zeros(context.encoder.dim, np.float32), "clip")
    query = resolve_source(spec.source, context)
    # an item query never returns its item; an uploaded image that is stored is a result like any other
    vector, exclude = query.vector, query.item if spec.source.kind == "item" else None
    allowed = context.snapshot.allowed(spec.kind, spec.filters)
    notes = [query.note] if query.note else []
    if spec.match == "region":
        return _by_regions(vector[None], context, allowed, exclude, notes)
    if not spec.adapter:
        return Scored({"clip": context.snapshot.cosines(vector, allowed, context.depth)}, vector, "clip", exclude,
                      allowed, notes)
    if context.adapted is None:
        raise QueryError("Adapters are not available here; run the query without one.")
    adapter, items = context.adapted(spec.adapter)
    vector, method = adapter.apply(vector), f"adapter {spec.adapter}"
    return Scored({method: keep_only(items @ vector, allowed)}, vector, method, exclude, allowed, notes, items=items)


@answers(ComposeQuery)
def compose(spec: ComposeQuery, context: Context) -> Scored:
    """Reference image + modification text under each compose method (``indexing.query.compose``), images only."""
    image, exclude, notes = _reference(spec.reference, context)
    encoder, text = context.encoder, spec.text.strip()
    clauses = split_clauses(text) or [text]
    x = ComposeInputs(image, encoder.encode_texts([text])[0], encoder.encode_texts(clauses),
                      context.snapshot.vectors, spec.lam)
    allowed = context.snapshot.allowed("image")
    scores = {m: keep_only(s, allowed) for m, s in compose_scores(x, spec.methods).items()}
    if len(clauses) == 1:
        notes.append("one clause only: clause split scores exactly like the score product")
    if spec.lam in (0.0, 1.0):
        notes.append(f"λ = {spec.lam:g}: the weighted sum is the {'image' if spec.lam == 0 else 'text'}-only query")
    main = "sum" if "sum" in spec.methods else spec.methods[0]
    return Scored(scores, weighted_sum(image, x.text, spec.lam), main, exclude, allowed, notes)


@answers(ConditionQuery)
def condition(spec: ConditionQuery, context: Context) -> Scored:
    """Similarity to the reference with respect to a condition, per condition method, images only."""
    cond = parse_condition(spec.condition, spec.vocabulary)
    reference, exclude, notes = _reference(spec.reference, context)
    encoder = context.encoder
    cond_vec = encoder.encode_texts([cond.text])[0]
    basis = text_basis(encoder.encode_texts(list(cond.values))) if cond.values else None
    x = ConditionInputs(reference, cond_vec, context.snapshot.vectors, basis,
                        cond_vec if cond.kind == "change" else None)
    allowed = context.snapshot.allowed("image")
    methods = spec.methods or methods_for(cond)
    scores = {m: keep_only(s, allowed) for m, s in condition_scores(x, methods).items()}
    main = "basis" if "basis" in methods else "sum" if "sum" in methods else methods[0]
    return Scored(scores, reference, main, exclude, allowed, notes, condition=cond)


# ---- feedback ----------------------------------------------------------------------------------------
def rocchio(query: np.ndarray, relevant: np.ndarray, non_relevant: np.ndarray, alpha: float = 1.0,
            beta: float = 0.75, gamma: float = 0.15) -> np.ndarray:
    """q' = normalise(α·q + β·mean(relevant) − γ·mean(non-relevant)); empty groups contribute nothing."""
    q = alpha * np.asarray(query, np.float32)
    if len(relevant):
        q = q + beta * np.asarray(relevant, np.float32).mean(axis=0)
    if len(non_relevant):
        q = q - gamma * np.asarray(non_relevant, np.float32).mean(axis=0)
    return normalise(q)


def _rocchio(scored: Scored, feedback: Feedback, vectors: np.ndarray, grades: dict[str, int],
             index: dict[str, int]) -> np.ndarray:
    """Rocchio from this query's grades: ≥ 2 relevant, 0 non-relevant (1, 'partly', is left out)."""
    rel = [index[i] for i, g in grades.items() if g >= 2 and i in index]
    non = [index[i] for i, g in grades.items() if g == 0 and i in index]
    return rocchio(scored.query, vectors[rel], vectors[non], feedback.alpha, feedback.beta, feedback.gamma)


FEEDBACK["rocchio"] = _rocchio



# ---- region search: late interaction over region vectors ---------------------------------------------
EXACT_REGIONS_UP_TO = 20_000  # smaller collections score every image's regions exactly; larger ones take a
REGION_SHORTLIST = 1000  # MUVERA shortlist of max(REGION_SHORTLIST, 8 × depth, SHORTLIST_SHARE of the images),
SHORTLIST_SHARE = 0.05  # re-ranked exactly, up to SHARE_UP_TO images; beyond, the share falls by 30 % for every
SHARE_UP_TO = 100_000  # ten times more images (3.5 % of 1M; python -m benchmarks.region, figures in the README)


def shortlist_size(images: int, depth: int) -> int:
    """How many of ``images`` the first pass hands to exact MaxSim, for results ``depth`` deep."""
    share = SHORTLIST_SHARE * (images if images <= SHARE_UP_TO
                               else SHARE_UP_TO * (images / SHARE_UP_TO) ** (1 + math.log10(0.7)))
    return min(images, max(REGION_SHORTLIST, 8 * depth, round(share)))


@answers(RegionQuery)
def region(spec: RegionQuery, context: Context) -> Scored:
    """The region vectors inside the box are the query; each image scores the mean over them of its best
    region's cosine (Chamfer similarity / MaxSim). The image the box was drawn on is a result like any other."""
    tokens, notes = _box_tokens(spec, context)
    return _by_regions(tokens, context, context.snapshot.allowed("image"), None, notes)


def _box_tokens(spec: RegionQuery, context: Context) -> tuple[np.ndarray, list[str]]:
    """The region vectors inside the box (stored ones for an item, computed for an image), and a note when an
    item was found by its name."""
    cells = cells_in(spec.box)
    source = spec.source
    if source.item is None:
        picture = decode_image(_image_bytes(source, context), READ_PX)  # as stored images are read
        return region_vectors(context.encoder, [picture])[0][cells], []
    i, note = find_item(context.snapshot, source.item)
    record = context.snapshot.records[i]
    if record.kind != "image":
        raise QueryError(f"Item {record.id} is a text: search by region needs an image.")
    files = _region_files(context)
    row = files.index().get(record.id)
    if row is None:
        raise QueryError(f"The region vectors of {record.name} are not computed yet; compute the collection's "
                         "regions (Neighbours page, or `python -m indexing regions`), then search again.")
    return files.regions_of(np.array([row]))[0][cells], [note] if note else []


def _region_files(context: Context) -> RegionFiles:
    """The collection's region files, or the one-line refusal where there are none."""
    if context.regions is None:
        raise QueryError("Region search is not available here (no region files); use whole-image matching.")
    return context.regions


def _region_rows(context: Context) -> np.ndarray:
    """Each snapshot item's row in the region files (-1: none yet)."""
    return context.snapshot.rows_in(_region_files(context).index())


def _by_regions(tokens: np.ndarray, context: Context, allowed: np.ndarray | None, exclude: int | None,
                notes: list[str]) -> Scored:
    """Score every image with region vectors by MaxSim with ``tokens`` (m, d); -inf for the others."""
    snapshot, n = context.snapshot, len(context.snapshot.records)
    rows = _region_rows(context)
    images = snapshot.kinds == "image" if n else np.zeros(0, bool)
    ready = (rows >= 0) & images & (allowed if allowed is not None else True)
    scores = np.full(n, -np.inf, np.float32)
    candidates = np.flatnonzero(ready)
    if len(candidates) > EXACT_REGIONS_UP_TO:  # the MUVERA first pass makes the shortlist
        size = shortlist_size(len(candidates), context.depth)
        estimate = context.regions.first_pass(tokens, rows[candidates], size) / len(tokens)
        scores[candidates] = estimate - estimate.max() - 2.0  # in their order, below every exact score (≥ -1)
        if size < len(candidates):
            candidates = candidates[np.argpartition(-estimate, size - 1)[:size]]
    scores[candidates] = context.regions.maxsim(tokens, rows[candidates]) / len(tokens)
    waiting = int((images & (rows < 0)).sum())
    if waiting:
        notes = notes + [f"Region vectors are ready for {int((images & (rows >= 0)).sum()):,} of "
                         f"{int(images.sum()):,} images; this search covers those. Compute the rest on the "
                         "Neighbours page or with `python -m indexing regions`."]
    top = top_k(scores, context.depth, exclude)
    cells = {}
    if top:
        per = np.einsum("md,Nrd->Nmr", tokens, context.regions.regions_of(rows[top])).argmax(axis=2)
        cells = {i: sorted(set(map(int, c))) for i, c in zip(top, per)}
    return Scored({"regions": scores}, normalise(tokens.mean(axis=0)), "regions", exclude, ready, notes, cells=cells)
