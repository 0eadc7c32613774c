"""One record per scoring method of a query type (compose, condition): its name, its label on the pages, what
its score is, and the function that scores a gallery. The tuples and dicts the pages, the spec validation and
the runner read are views of that one table."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ScoreMethod:
    name: str  # as in specs, run names ('compose/sum') and the CLI's JSON
    label: str  # as on the pages
    score_name: str  # what the number next to a result is ('cosine', 'product of cosines', …)
    score: Callable[[Any], np.ndarray]  # inputs → a score per gallery item


def table(*methods: ScoreMethod) -> tuple[dict[str, ScoreMethod], tuple[str, ...], dict[str, str], dict[str, str]]:
    """(name → method, names in order, name → label, name → score name) of one query type's methods."""
    by_name = {m.name: m for m in methods}
    return (by_name, tuple(by_name), {m.name: m.label for m in methods}, {m.name: m.score_name for m in methods})
