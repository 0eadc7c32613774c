"""Neighbour search: one entry point for text, image and item queries, ranked exactly.

Exact search over the collection's cached float32 matrix (a few ms per query at 100k here) rather than
Chroma's HNSW, whose default settings recalled under a third of the exact top 10 on clustered data: the
list the Neighbours page shows is then the list a saved query re-runs for labelling (``filtered_scores``
is shared with ``saved_runs``)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from indexing.compose import rank
from indexing.encoder import Encoder
from indexing.errors import SimLabError
from indexing.media import decode_image
from indexing.store import Hit, Record, Store


class QueryError(SimLabError, ValueError):
    """A query that cannot be run as given; the message says how to fix it."""


@dataclass(frozen=True)
class Query:
    """Exactly one of: free ``text``, ``image`` bytes, or the id of an ``item`` already in the store."""

    text: str | None = None
    image: bytes | None = None
    item: str | None = None

    def validate(self) -> None:
        given = [n for n in ("text", "image", "item") if getattr(self, n) is not None]
        if len(given) != 1:
            raise QueryError(f"Give exactly one of text, image or item (got {', '.join(given) or 'none'}).")
        if self.text is not None and not self.text.strip():
            raise QueryError("The query text is empty; type what you are looking for.")


def encode_query(query: Query, encoder: Encoder) -> np.ndarray:
    """The unit vector for a text or image query, encoded now."""
    query.validate()
    if query.item is not None:
        raise QueryError("An item query has a stored vector, not an encoding; use query_vector.")
    if query.text is not None:
        return encoder.encode_texts([query.text.strip()])[0]
    return encoder.encode_images([decode_image(query.image, encoder.image_size)])[0]


def query_vector(query: Query, encoder: Encoder, store: Store) -> np.ndarray:
    """The unit vector for a query (an item's stored vector, or a fresh encoding)."""
    query.validate()
    if query.item is None:
        return encode_query(query, encoder)
    found = store.get([query.item], with_vectors=True)
    if not found or found[0].embedding is None:
        raise QueryError(f"No item {query.item!r} in the index for this model; pick one from the results.")
    return found[0].embedding


def filtered_scores(query: np.ndarray, vectors: np.ndarray, records: list[Record], kind: str | None = None,
                    filters: dict[str, str] | None = None) -> np.ndarray:
    """Cosine of every item to ``query`` (unit vectors); items outside ``kind`` / ``filters`` get -inf."""
    scores = vectors @ np.asarray(query, np.float32)
    if kind:
        scores = np.where([r.kind == kind for r in records], scores, -np.inf)
    for key, value in (filters or {}).items():
        scores = np.where([str(r.metadata.get(key)) == str(value) for r in records], scores, -np.inf)
    return scores


def top_k(scores: np.ndarray, k: int, exclude: int | None = None) -> list[int]:
    """Indices of the ``k`` best finite scores, best first (``exclude``: an index never returned)."""
    return [int(i) for i in rank(scores, k, exclude) if np.isfinite(scores[i])]


def neighbours(query: Query, encoder: Encoder, records: list[Record], vectors: np.ndarray, k: int = 10,
               kind: str | None = None, filters: dict[str, str] | None = None) -> list[Hit]:
    """The ``k`` nearest items to the query, best first; an item query never returns the item itself."""
    if k < 1:
        raise QueryError("k must be at least 1.")
    if kind not in (None, "image", "text"):
        raise QueryError(f"kind must be 'image' or 'text', not {kind!r}.")
    query.validate()
    exclude = None
    if query.item is not None:
        exclude = next((i for i, r in enumerate(records) if r.id == query.item), None)
        if exclude is None:
            raise QueryError(f"No item {query.item!r} in the index for this model; pick one from the results.")
        vector = vectors[exclude]
    else:
        vector = encode_query(query, encoder)
    scores = filtered_scores(vector, vectors, records, kind, filters)
    return [records[i].with_score(scores[i]) for i in top_k(scores, k, exclude)]
