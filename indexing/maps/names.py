"""Names for the map's regions: each cluster named by words, so a map can be read without hovering.

- Clusters mostly of images get **zero-shot names from CLIP itself**: among the vocabulary terms whose text
  embeddings best match the mean direction of the cluster's images (similarity-based labelling, as in
  "Evaluating Unsupervised Text Classification: Zero-shot and Similarity-based Approaches"), the terms
  **most of its members carry** (``held_terms``: by their metadata where a term is a field's value, else by
  their own best-matching terms). The second term comes from another group of the vocabulary (another
  metadata field) and shares no word with the first, so a name says two things, both true of most of the
  region; a region no term describes well enough (``MIN_SUPPORT``) is named by its size instead of a guess.
- Clusters mostly of texts get their **distinctive terms** by class-based TF-IDF (c-TF-IDF, as in
  BERTopic): a term's frequency in the cluster times log(1 + average words per cluster / its frequency
  over all clusters). Words are counted by scikit-learn's ``CountVectorizer`` with its English stop words.

The vocabulary is editable and saved per collection; the default comes from the data (short metadata
values, most frequent first) plus ``GENERAL_TERMS``.
"""
from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexing.maps.clusters import Clusters
from indexing.model.encoder import Encoder
from indexing.core.errors import InputError
from indexing.core.ranking import normalise
from indexing.store.chroma import Record

TERMS_PER_NAME = 2
MAX_DATA_TERMS = 300
MAX_TERM_CHARS = 40
GENERAL_TERMS = (
    "person", "people", "face", "child", "animal", "dog", "cat", "bird", "horse", "fish", "car", "bicycle",
    "bus", "train", "airplane", "boat", "building", "house", "street", "city", "room", "kitchen", "furniture",
    "table", "chair", "bed", "food", "fruit", "drink", "plant", "flower", "tree", "forest", "grass", "field",
    "mountain", "beach", "sea", "water", "sky", "snow", "night", "text", "document", "screenshot", "diagram",
    "map", "logo", "drawing", "painting", "cartoon", "clothing", "shoe", "dress", "shirt", "toy", "tool",
    "computer", "phone", "book", "sport", "ball", "red", "orange", "yellow", "green", "blue", "purple", "pink",
    "brown", "black", "white", "gray", "colourful", "dark", "bright", "circle", "square", "triangle", "star",
)


@dataclass(frozen=True)
class ClusterName:
    """A cluster's name: its terms, best first, how they were found, and the member drawn above it."""

    terms: tuple[str, ...]
    method: str  # "zero-shot", "c-TF-IDF", or "size" (no term held by most members: named by its size)
    size: int = 0
    exemplar: int | None = None  # an image member that carries every term, nearest the centre

    @property
    def label(self) -> str:
        if self.terms:
            return " · ".join(self.terms)
        return f"{self.size:,} items (mixed)" if self.size else "(unnamed)"


@dataclass(frozen=True)
class Vocabulary:
    """Terms to name image clusters with; terms of one ``group`` (a metadata field) never both name a cluster."""

    terms: tuple[str, ...]
    groups: tuple[str, ...]

    @classmethod
    def of(cls, terms: Sequence[str], records: Sequence[Record] = ()) -> Vocabulary:
        """Clean ``terms`` (stripped, de-duplicated, short) and group those that are values of one field."""
        clean = list(dict.fromkeys(t.strip() for t in terms if t.strip() and len(t.strip()) <= MAX_TERM_CHARS))
        field_of = {}
        for r in records:
            for key, value in r.metadata.items():
                if isinstance(value, str):
                    field_of.setdefault(value.strip().lower(), key)
        return cls(tuple(clean), tuple(field_of.get(t.lower(), f"term:{t.lower()}") for t in clean))


def default_terms(records: Sequence[Record]) -> list[str]:
    """Short metadata values of the collection (most frequent first), then the general terms."""
    counts: Counter[str] = Counter()
    for r in records:
        for value in r.metadata.values():
            if isinstance(value, str) and 0 < len(value.split()) <= 3 and len(value) <= MAX_TERM_CHARS:
                counts[value.strip()] += 1
    data = [v for v, _ in counts.most_common(MAX_DATA_TERMS) if not v.replace(".", "").isdigit()]
    return list(dict.fromkeys(data + list(GENERAL_TERMS)))


def ctfidf_terms(documents: Sequence[str], n_terms: int = TERMS_PER_NAME) -> list[tuple[str, ...]]:
    """Per cluster (one document: its texts joined), the terms with the highest class-based TF-IDF."""
    from sklearn.feature_extraction.text import CountVectorizer

    if not any(d.strip() for d in documents):
        return [() for _ in documents]
    try:
        counts = CountVectorizer(stop_words="english", token_pattern=r"(?u)\b[^\W\d_]{2,}\b").fit(documents)
    except ValueError:  # only stop words everywhere
        return [() for _ in documents]
    tf = counts.transform(documents).toarray().astype(np.float64)
    words = counts.get_feature_names_out()
    per_class = tf / np.maximum(tf.sum(axis=1, keepdims=True), 1)
    average = tf.sum() / len(documents)
    weight = per_class * np.log1p(average / np.maximum(tf.sum(axis=0), 1))
    return [tuple(words[j] for j in np.argsort(-row, kind="stable")[:n_terms] if row[j] > 0) for row in weight]


def name_clusters(clusters: Clusters, records: Sequence[Record], vectors: np.ndarray, encoder: Encoder,
                  vocabulary: Vocabulary, term_vectors: np.ndarray | None = None) -> list[ClusterName]:
    """A name for each cluster: terms its members carry (``held_terms``) from its images, or c-TF-IDF of its
    texts when texts are the majority."""
    kinds = np.array([r.kind for r in records])
    if term_vectors is None:
        term_vectors = encoder.encode_texts(list(vocabulary.terms))
    carried = Carried(records, vectors, vocabulary, term_vectors)
    names: list[ClusterName | None] = []
    text_clusters = []
    for c in range(len(clusters.sizes)):
        members = np.flatnonzero(clusters.labels == c)
        images = members[kinds[members] == "image"]
        if len(images) * 2 >= len(members) and len(images) and len(vocabulary.terms):
            centroid = normalise(vectors[images].mean(axis=0))
            terms = held_terms(centroid, members, carried)
            names.append(ClusterName(terms, "zero-shot" if terms else "size", len(members),
                                     carried.exemplar(terms, images, centroid)))
        else:
            names.append(None)
            text_clusters.append(c)
    documents = [" ".join(records[i].text or "" for i in np.flatnonzero(clusters.labels == c)) for c in text_clusters]
    for c, terms in zip(text_clusters, ctfidf_terms(documents)):
        names[c] = ClusterName(terms, "c-TF-IDF", int(clusters.sizes[c]))
    return names  # type: ignore[return-value]


CANDIDATES = 25  # the terms best matching a cluster's images that may name it
MIN_SUPPORT = 0.85  # a region is named by a term only when 85 % of its members carry it
MIN_SUPPORT_MORE = 0.9  # and a second term only when nine in ten do (chosen on demo-world seeds; README)
ZERO_SHOT_TOP = 3  # a member without metadata carries a term when it is among its 3 best-matching terms
SUPPORT_SAMPLE = 2_000  # members a term's support is measured on (seeded), per cluster


class Carried:
    """Which members carry which vocabulary terms: by their metadata where they have some (the term is one of
    their short values, or words of one: 'cross' in 'white cross'; so a general word such as 'kitchen' is
    carried only by members whose metadata says it), else by their own vector (the term is among their
    ``ZERO_SHOT_TOP`` best-matching terms). Without ``term_vectors`` only metadata counts (the ground truth an
    evaluation scores names against): a member without metadata carries nothing."""

    def __init__(self, records: Sequence[Record], vectors: np.ndarray, vocabulary: Vocabulary,
                 term_vectors: np.ndarray | None = None):
        self.records, self.vectors, self.vocabulary, self.term_vectors = records, vectors, vocabulary, term_vectors
        self.words = [t.lower().split() for t in vocabulary.terms]
        self.index = {t: j for j, t in enumerate(vocabulary.terms)}
        self._values: dict[int, set[str]] = {}

    def values(self, i: int) -> set[str]:
        """Member ``i``'s short metadata values, lower-case, each as ' word word ' for whole-word matching."""
        if i not in self._values:
            self._values[i] = {f" {' '.join(v.lower().split())} " for v in self.records[i].metadata.values()
                               if isinstance(v, str) and 0 < len(v.split()) <= 3}
        return self._values[i]

    def held(self, members: np.ndarray, terms: np.ndarray) -> np.ndarray:
        """(members × terms) booleans: whether each member carries each term (indices into the vocabulary)."""
        top = (np.zeros((len(members), 0), int) if self.term_vectors is None else
               np.argsort(-(np.asarray(self.vectors[members], np.float32) @ self.term_vectors.T), axis=1,
                          kind="stable")[:, :ZERO_SHOT_TOP])
        held = np.zeros((len(members), len(terms)), bool)
        for row, i in enumerate(members):
            values = self.values(int(i))
            for col, j in enumerate(terms):
                held[row, col] = (any(f" {' '.join(self.words[j])} " in v for v in values) if values
                                  else j in top[row])
        return held

    def support(self, members: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """The share of ``members`` carrying each candidate term (a seeded sample of large clusters)."""
        if len(members) > SUPPORT_SAMPLE:
            members = np.sort(np.random.default_rng(0).choice(members, SUPPORT_SAMPLE, replace=False))
        return self.held(members, candidates).mean(axis=0)

    def exemplar(self, terms: Sequence[str], images: np.ndarray, centroid: np.ndarray) -> int | None:
        """The image member nearest the centre that carries every term (the nearest image when unnamed), among
        the 200 nearest."""
        order = images[np.argsort(-(np.asarray(self.vectors[images], np.float32) @ centroid), kind="stable")][:200]
        if not len(order):
            return None
        if not terms:
            return int(order[0])
        carriers = self.held(order, np.array([self.index[t] for t in terms])).all(axis=1)
        return int(order[np.argmax(carriers)]) if carriers.any() else None


def held_terms(centroid: np.ndarray, members: np.ndarray, carried: Carried,
               n_terms: int = TERMS_PER_NAME) -> tuple[str, ...]:
    """Up to ``n_terms`` terms carried by most members (the first by ``MIN_SUPPORT`` of them, any further one by
    ``MIN_SUPPORT_MORE``): among the ``CANDIDATES`` terms best matching the centroid, the most carried first
    (ties: the better match), never two of one group (metadata field) nor two sharing a word. None when even the
    best is weak."""
    vocabulary = carried.vocabulary
    candidates = np.argsort(-(carried.term_vectors @ centroid), kind="stable")[:CANDIDATES]
    support = carried.support(members, candidates)
    ranked = sorted(range(len(candidates)), key=lambda k: (-round(float(support[k]), 6), k))
    chosen: list[str] = []
    groups: set[str] = set()
    words: set[str] = set()
    for k in ranked:
        j = int(candidates[k])
        term_words = set(carried.words[j])
        if support[k] < (MIN_SUPPORT if not chosen else MIN_SUPPORT_MORE) or vocabulary.groups[j] in groups \
                or term_words & words:
            continue
        chosen.append(vocabulary.terms[j])
        groups.add(vocabulary.groups[j])
        words |= term_words
        if len(chosen) == n_terms:
            break
    return tuple(chosen)


# ---- the saved vocabulary ------------------------------------------------------------------------
def vocabulary_path(data_dir: Path, collection: str) -> Path:
    return Path(data_dir) / "cluster_vocabulary" / f"{collection}.txt"


def load_terms(data_dir: Path, collection: str) -> list[str] | None:
    """The saved vocabulary of a collection, one term per line; None when none was saved."""
    path = vocabulary_path(data_dir, collection)
    try:
        return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Cannot read the cluster vocabulary {path}: {exc}; delete it to use the default.") from exc


def save_terms(data_dir: Path, collection: str, terms: Sequence[str]) -> None:
    """Save a vocabulary (written atomically); an empty list goes back to the default."""
    path = vocabulary_path(data_dir, collection)
    clean = [t.strip() for t in terms if t.strip()]
    if not clean:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text("\n".join(clean) + "\n", encoding="utf-8")
    os.replace(partial, path)
