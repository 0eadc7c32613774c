"""Names for the map's regions: each cluster named by words, so a map can be read without hovering.

- Clusters mostly of images get **zero-shot names from CLIP itself**: the vocabulary terms whose text
  embeddings best match the mean direction of the cluster's images (similarity-based labelling, as in
  "Evaluating Unsupervised Text Classification: Zero-shot and Similarity-based Approaches"). The second
  term comes from another group of the vocabulary (another metadata field), so a name says two things.
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

from indexing.clusters import Clusters
from indexing.encoder import Encoder
from indexing.errors import InputError
from indexing.ranking import normalise
from indexing.store import Record

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
    """A cluster's name: its terms, best first, and how they were found."""

    terms: tuple[str, ...]
    method: str  # "zero-shot" or "c-TF-IDF"

    @property
    def label(self) -> str:
        return " · ".join(self.terms) if self.terms else "(unnamed)"


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


def zero_shot_terms(centroid: np.ndarray, term_vectors: np.ndarray, vocabulary: Vocabulary,
                    n_terms: int = TERMS_PER_NAME) -> tuple[str, ...]:
    """The best-matching term, then the best of each further group not used yet."""
    chosen, used = [], set()
    for j in np.argsort(-(term_vectors @ centroid), kind="stable"):
        if vocabulary.groups[j] in used:
            continue
        chosen.append(vocabulary.terms[j])
        used.add(vocabulary.groups[j])
        if len(chosen) == n_terms:
            break
    return tuple(chosen)


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
    """A name for each cluster: zero-shot from its images, or c-TF-IDF of its texts when texts are the majority."""
    kinds = np.array([r.kind for r in records])
    if term_vectors is None:
        term_vectors = encoder.encode_texts(list(vocabulary.terms))
    names: list[ClusterName | None] = []
    text_clusters = []
    for c in range(len(clusters.sizes)):
        members = np.flatnonzero(clusters.labels == c)
        images = members[kinds[members] == "image"]
        if len(images) * 2 >= len(members) and len(images) and len(vocabulary.terms):
            names.append(ClusterName(zero_shot_terms(normalise(vectors[images].mean(axis=0)), term_vectors,
                                                     vocabulary), "zero-shot"))
        else:
            names.append(None)
            text_clusters.append(c)
    documents = [" ".join(records[i].text or "" for i in np.flatnonzero(clusters.labels == c)) for c in text_clusters]
    for c, terms in zip(text_clusters, ctfidf_terms(documents)):
        names[c] = ClusterName(terms, "c-TF-IDF")
    return names  # type: ignore[return-value]


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
