"""Conditional similarity (GeneCIS's notion): "similar with respect to colour", "the same but blue".

A condition is an attribute type to focus on ("color"), a value to change to ("blue"), or free text
("the car"). Methods are pure functions of unit vectors.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from indexing.shapes import world
from indexing.query.compose import score_product
from indexing.core.errors import SimLabError
from indexing.core.ranking import normalise
from indexing.query.scoring import ScoreMethod, table

ConditionKind = Literal["focus", "change", "object"]
# Built-in vocabulary; users can edit it on the Condition page. The demo world's words come first.
VOCABULARY: dict[str, list[str]] = {
    "color": list(dict.fromkeys(list(world.COLORS) + ["black", "brown", "gray", "teal", "beige", "cyan"])),
    "shape": list(dict.fromkeys(list(world.SHAPES) + ["rectangle", "oval", "diamond", "heart"])),
    "background": [f"a {b} background" for b in world.BACKGROUNDS] + ["a white background", "a blue background"],
    "size": ["small", "large", "tiny", "huge"],
    "position": ["top left", "in the center", "bottom right", "top right", "bottom left"],
    "material": ["wood", "metal", "glass", "plastic", "fabric", "stone", "paper"],
}
SYNONYMS = {"colour": "color", "form": "shape", "backdrop": "background", "location": "position"}


class ConditionError(SimLabError, ValueError):
    """A condition that cannot be used; the message says what would work."""


@dataclass
class Condition:
    """What to condition on, resolved against the vocabulary."""

    kind: ConditionKind
    text: str  # the condition as typed
    attribute: str | None = None  # for focus / change
    values: tuple[str, ...] = ()  # the attribute's value words (the text basis)


def parse_condition(text: str, vocabulary: dict[str, list[str]] = VOCABULARY) -> Condition:
    """'color' → focus on colour; 'blue' → change to blue; anything else → an object/free-text focus."""
    t = text.strip().lower()
    if not t:
        raise ConditionError("The condition is empty; type an attribute ('color'), a value ('blue') or an object.")
    attribute = SYNONYMS.get(t, t)
    if attribute in vocabulary:
        values = tuple(v for v in vocabulary[attribute] if v.strip())
        if len(values) < 2:
            raise ConditionError(f"'{attribute}' has fewer than two known values; add some to the vocabulary.")
        return Condition("focus", text.strip(), attribute, values)
    for attr, values in vocabulary.items():
        if t in (v.lower() for v in values):
            return Condition("change", text.strip(), attr, tuple(values))
    return Condition("object", text.strip())


def text_basis(value_vectors: np.ndarray) -> np.ndarray:
    """An orthonormal basis (rows) of the subspace spanned by the values' differences.

    Centring removes what all the value words share ("this is a colour word"), leaving the
    directions that tell the values apart.
    """
    centred = value_vectors - value_vectors.mean(axis=0, keepdims=True)
    u, s, vt = np.linalg.svd(centred, full_matrices=False)
    keep = s > 1e-6 * max(float(s.max(initial=0.0)), 1e-12)
    return vt[keep]


def project(vectors: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Unit vectors of ``vectors`` projected into the basis' span (coordinates in the basis)."""
    return normalise(np.atleast_2d(vectors) @ basis.T)


@dataclass
class ConditionInputs:
    reference: np.ndarray  # (d,)
    condition_text: np.ndarray  # (d,) the condition as text
    gallery: np.ndarray  # (n, d)
    basis: np.ndarray | None = None  # (b, d) text basis, for focus/change on a known attribute
    value_text: np.ndarray | None = None  # (d,) the target value, for change


def _basis_scores(x: ConditionInputs) -> np.ndarray:
    if x.basis is None or len(x.basis) == 0:
        raise ConditionError("Text-basis projection needs an attribute with known values.")
    ref = project(x.reference, x.basis)[0]
    target = ref if x.value_text is None else project(x.value_text, x.basis)[0]
    return project(x.gallery, x.basis) @ target


def _product_scores(x: ConditionInputs) -> np.ndarray:
    text = x.value_text if x.value_text is not None else x.condition_text
    return score_product(x.gallery @ x.reference, x.gallery @ text)


METHODS, CONDITION_METHODS, METHOD_LABELS, SCORE_NAMES = table(
    ScoreMethod("image", "image only", "cosine", lambda x: x.gallery @ x.reference),
    # the condition alone (a GeneCIS baseline)
    ScoreMethod("text", "condition text only", "cosine", lambda x: x.gallery @ x.condition_text),
    ScoreMethod("sum", "image + condition text", "cosine", lambda x: x.gallery @ normalise(x.reference + x.condition_text)),
    ScoreMethod("basis", "text-basis projection", "projected cosine", _basis_scores),
    ScoreMethod("product", "product fusion", "fused score", _product_scores),
)


def methods_for(condition: Condition) -> tuple[str, ...]:
    """Which methods make sense: basis needs known values; product fusion is for changes."""
    if condition.kind == "focus":
        return ("image", "sum", "basis")
    if condition.kind == "change":
        return ("image", "sum", "basis", "product")
    return ("image", "sum")


def condition_scores(x: ConditionInputs, methods: tuple[str, ...]) -> dict[str, np.ndarray]:
    return {m: METHODS[m].score(x) for m in methods}
