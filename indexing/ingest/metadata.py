"""User metadata checked at the boundary against what Chroma stores, so one item's keys never fail a batch.

Chroma refuses keys that are empty or start with '#' or '$', and the key ``chroma:document``; SimLab keeps
its own keys (``simlab_*``) apart. Such keys are renamed (``field_<key>``), never dropped silently, and
each rename is reported once per item. Values are stored as text.
"""
from __future__ import annotations

from collections.abc import Mapping

from indexing.store.chroma import RESERVED

MAX_KEY_CHARS = 200


def key_problem(key: str) -> str | None:
    """Why Chroma (or SimLab) would refuse ``key``, or None."""
    if not key:
        return "an empty name"
    if key[0] in "#$":
        return f"a name starting with {key[0]!r}"
    if key == "chroma:document" or key in RESERVED:
        return "a name reserved by the store"
    if len(key) > MAX_KEY_CHARS:
        return f"a name longer than {MAX_KEY_CHARS} characters"
    return None


def clean_metadata(metadata: Mapping[object, object]) -> tuple[dict[str, str], list[str]]:
    """(metadata Chroma accepts, one note per renamed key)."""
    clean: dict[str, str] = {}
    notes: list[str] = []
    for raw_key, value in metadata.items():
        key = str(raw_key).strip()
        if value is None or value == "":
            continue
        problem = key_problem(key)
        if problem:
            new = f"field_{key}"[:MAX_KEY_CHARS]
            notes.append(f"metadata field {key[:40]!r} has {problem}: stored as {new[:40]!r}")
            key = new
        while key in clean:
            key += "_"
        clean[key] = value if isinstance(value, str) else str(value)
    return clean, notes
