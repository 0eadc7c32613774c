"""Neighbour search: one entry point for text, image and item queries."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from indexing.encoder import Encoder
from indexing.media import decode_image
from indexing.store import Hit, Store


class QueryError(ValueError):
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


def neighbours(query: Query, encoder: Encoder, store: Store, k: int = 10, kind: str | None = None,
               filters: dict[str, str] | None = None) -> list[Hit]:
    """The ``k`` nearest items to the query, best first; an item query never returns the item itself."""
    if k < 1:
        raise QueryError("k must be at least 1.")
    if kind not in (None, "image", "text"):
        raise QueryError(f"kind must be 'image' or 'text', not {kind!r}.")
    vector = query_vector(query, encoder, store)
    extra = 1 if query.item else 0
    hits = store.query(vector, k + extra, kind=kind, filters=filters)
    return [h for h in hits if h.id != query.item][:k]
