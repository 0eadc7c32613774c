"""Which colour each category gets on a map: colour names in their own colour, everything else from
one fixed palette in sorted order, so the page, the legend and every export agree."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PIL import ImageColor
from plotly.colors import qualitative, sample_colorscale

PALETTE = qualitative.Dark24  # 24 distinct colours: more than a legend ever lists (MAX_CATEGORIES)
NEUTRAL = "#9e9e9e"  # "(none)" and "(other values)"
NEUTRAL_VALUES = frozenset({"(none)", "(other values)"})


@dataclass(frozen=True)
class Colouring:
    """Legend order and a CSS colour per category; ``outline`` when light colours need an edge to be seen."""

    order: list[str]
    colours: dict[str, str]
    outline: bool = False


def css_colour(name: str) -> str | None:
    """``name`` as ``rgb(r,g,b)`` if it is a CSS/X11 colour name (any case, spaces ignored), else None."""
    key = name.strip().lower().replace(" ", "")
    if not key or not key.isalpha():
        return None  # '#fff' or '123' are not names a person would read as a colour
    try:
        r, g, b = ImageColor.getrgb(key)[:3]
    except ValueError:
        return None
    return f"rgb({r},{g},{b})"


def colouring(categories: Sequence[str]) -> Colouring:
    """Colours for these categories: their own colour when every real value is a colour name."""
    real = sorted(c for c in set(categories) if c not in NEUTRAL_VALUES)
    order = real + sorted(c for c in set(categories) if c in NEUTRAL_VALUES)
    named = {c: css_colour(c) for c in real}
    if real and all(named.values()):
        return Colouring(order, {**{c: NEUTRAL for c in order}, **named}, outline=True)
    colours = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(real)}
    return Colouring(order, {**{c: NEUTRAL for c in order}, **colours})


def sequential(order: Sequence[str]) -> Colouring:
    """Ordered categories (best first) on one sequential scale: dark for the first, light for the last."""
    order = list(order)
    steps = [i / max(1, len(order) - 1) for i in range(len(order))]
    return Colouring(order, dict(zip(order, sample_colorscale("Viridis", steps))))
