"""The shapes world: rendered scenes whose attributes (and so ground truth) are known.

Everything is a pure function of a seed, so a world can be rebuilt pixel for pixel.
Training uses seeds from ``TRAIN_SEEDS``; evaluation must use seeds outside it.
"""
from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, field

from PIL import Image, ImageDraw

from indexing.core.errors import InputError

# The attribute vocabulary. Later evaluations build queries from it, so keep it importable.
SHAPES = ("circle", "square", "triangle", "star", "hexagon", "cross")
COLORS = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (240, 220, 40),
    "orange": (245, 140, 20),
    "purple": (140, 50, 180),
    "pink": (250, 130, 200),
    "white": (250, 250, 250),
}
SIZES = ("small", "large")
BACKGROUNDS = {
    "teal": (20, 128, 128),
    "gray": (128, 128, 128),
    "black": (15, 15, 15),
    "beige": (215, 195, 150),
}
POSITIONS = ("top left", "center", "bottom right")
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "shape": SHAPES,
    "color": tuple(COLORS),
    "size": SIZES,
    "background": tuple(BACKGROUNDS),
    "position": POSITIONS,
}
# Seeds reserved for training the bundled model; never evaluate on these.
TRAIN_SEEDS = range(0, 1_000_000)
DEFAULT_EVAL_SEED = 2_000_001


def evaluation_seed(seed: int) -> int:
    """``seed`` if a test world may be rendered from it: at or above every training seed, since a test world
    draws its parts from the seed plus small offsets (a negative seed would reach into the training range)."""
    if seed < TRAIN_SEEDS.stop:
        raise InputError(f"Seed {seed} is reserved for training or reaches into it (training uses seeds "
                         f"{TRAIN_SEEDS.start}–{TRAIN_SEEDS.stop - 1}); use a seed of {TRAIN_SEEDS.stop:,} or more.")
    return seed


_CENTRES = {"top left": (0.3, 0.3), "center": (0.5, 0.5), "bottom right": (0.7, 0.7)}
_RADII = {"small": 0.13, "large": 0.22}
_SUPERSAMPLE = 2


@dataclass(frozen=True)
class Scene:
    """One rendered scene: its attributes and the jitter that makes each render unique."""

    shape: str
    color: str
    size: str
    background: str
    position: str
    jitter: tuple[float, ...] = field(default=(0.0,) * 6, compare=False)

    @property
    def attributes(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in ATTRIBUTES}


def all_combinations() -> list[dict[str, str]]:
    """Every attribute combination, in a fixed order."""
    keys = list(ATTRIBUTES)
    return [dict(zip(keys, values)) for values in itertools.product(*ATTRIBUTES.values())]


def random_scene(rng: random.Random, **fixed: str) -> Scene:
    """A scene with random attributes (any given in ``fixed`` are kept) and random jitter."""
    attrs = {k: fixed.get(k) or rng.choice(v) for k, v in ATTRIBUTES.items()}
    return Scene(**attrs, jitter=_random_jitter(rng))


def scene_for(attrs: dict[str, str], rng: random.Random) -> Scene:
    """A scene with exactly these attributes and fresh jitter."""
    return Scene(**{k: attrs[k] for k in ATTRIBUTES}, jitter=_random_jitter(rng))


def _random_jitter(rng: random.Random) -> tuple[float, ...]:
    # dx, dy, scale, rotation, colour shift, background shift
    return (
        rng.uniform(-0.05, 0.05),
        rng.uniform(-0.05, 0.05),
        rng.uniform(0.9, 1.1),
        rng.uniform(-12.0, 12.0),
        rng.uniform(-18.0, 18.0),
        rng.uniform(-12.0, 12.0),
    )


def render(scene: Scene, size: int = 128) -> Image.Image:
    """Draw the scene as an RGB image of ``size`` x ``size`` pixels (antialiased)."""
    dx, dy, scale, rotation, colour_shift, bg_shift = scene.jitter
    big = size * _SUPERSAMPLE
    image = Image.new("RGB", (big, big), _shift(BACKGROUNDS[scene.background], bg_shift))
    draw = ImageDraw.Draw(image)
    cx, cy = _CENTRES[scene.position]
    centre = ((cx + dx) * big, (cy + dy) * big)
    radius = _RADII[scene.size] * scale * big
    fill = _shift(COLORS[scene.color], colour_shift)
    _draw_shape(draw, scene.shape, centre, radius, rotation, fill)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def _shift(rgb: tuple[int, int, int], amount: float) -> tuple[int, int, int]:
    return tuple(max(0, min(255, round(c + amount))) for c in rgb)  # type: ignore[return-value]


def _polygon(centre: tuple[float, float], radii: list[float], rotation: float) -> list[tuple[float, float]]:
    cx, cy = centre
    n = len(radii)
    points = []
    for i, r in enumerate(radii):
        angle = math.radians(rotation) - math.pi / 2 + 2 * math.pi * i / n
        points.append((cx + r * math.cos(angle), cy + r * math.sin(angle)))
    return points


def _draw_shape(draw: ImageDraw.ImageDraw, shape: str, centre, radius: float, rotation: float, fill) -> None:
    if shape == "circle":
        cx, cy = centre
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=fill)
    elif shape == "square":
        draw.polygon(_polygon(centre, [radius * 1.2] * 4, rotation + 45), fill=fill)
    elif shape == "triangle":
        draw.polygon(_polygon(centre, [radius * 1.25] * 3, rotation), fill=fill)
    elif shape == "star":
        draw.polygon(_polygon(centre, [radius * 1.3, radius * 0.55] * 5, rotation), fill=fill)
    elif shape == "hexagon":
        draw.polygon(_polygon(centre, [radius * 1.1] * 6, rotation), fill=fill)
    elif shape == "cross":
        arm = radius * 0.38
        for angle in (0.0, 90.0):
            a = math.radians(rotation + angle)
            ux, uy = math.cos(a), math.sin(a)
            vx, vy = -uy, ux
            cx, cy = centre
            length = radius * 1.2
            draw.polygon(
                [
                    (cx + ux * length + vx * arm, cy + uy * length + vy * arm),
                    (cx + ux * length - vx * arm, cy + uy * length - vy * arm),
                    (cx - ux * length - vx * arm, cy - uy * length - vy * arm),
                    (cx - ux * length + vx * arm, cy - uy * length + vy * arm),
                ],
                fill=fill,
            )
    else:
        raise ValueError(f"Unknown shape {shape!r}; choose one of {', '.join(SHAPES)}")


# ---- captions --------------------------------------------------------------------------

def _where(position: str) -> str:
    return "in the center" if position == "center" else position


def full_caption(a: dict[str, str]) -> str:
    """The one caption that names every attribute."""
    return f"a {a['size']} {a['color']} {a['shape']} on a {a['background']} background, {_where(a['position'])}"


# Templates name the attributes they mention, so a caption's ground truth is known.
PARTIAL_TEMPLATES: tuple[str, ...] = (
    "a {color} {shape}",
    "a {shape} on {background}",
    "a {size} {shape}",
    "a {color} {shape} on {background}",
    "a {shape} {position}",
    "a {size} {color} {shape}",
    "a {color} {shape} {position}",
    "something {color} on a {background} background",
)
SINGLE_TEMPLATES: tuple[str, ...] = (
    "{color}",
    "something {color}",
    "make it {color}",
    "a {shape}",
    "{shape}",
    "the same but a {shape}",
    "a {background} background",
    "change the background to {background}",
    "something {size}",
    "something {position}",
)


def _fill(template: str, a: dict[str, str]) -> str:
    return template.format(**{**a, "position": _where(a["position"])})


def template_keys(template: str) -> tuple[str, ...]:
    """The attribute names a template mentions, in order."""
    return tuple(k for k in ATTRIBUTES if "{" + k + "}" in template)


def partial_captions(a: dict[str, str]) -> list[str]:
    """Captions naming two or three attributes."""
    return [_fill(t, a) for t in PARTIAL_TEMPLATES]


def single_captions(a: dict[str, str]) -> list[str]:
    """Captions naming one attribute, including the phrasing of modifications."""
    return [_fill(t, a) for t in SINGLE_TEMPLATES]


def modification_text(attribute: str, value: str) -> str:
    """The modification phrase that changes one attribute, e.g. 'make it blue'."""
    return {
        "color": f"make it {value}",
        "shape": f"the same but a {value}",
        "background": f"change the background to {value}",
        "size": f"make it {value}",
        "position": f"move it to the {value}" if value != "center" else "move it to the center",
    }[attribute]


# ---- a world of items ------------------------------------------------------------------

@dataclass(frozen=True)
class WorldItem:
    """A demo image with its attributes and captions."""

    name: str
    scene: Scene
    image: Image.Image

    @property
    def attributes(self) -> dict[str, str]:
        return self.scene.attributes


def make_world(n: int, seed: int, size: int = 128) -> list[WorldItem]:
    """``n`` random scenes rendered deterministically from ``seed``."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        scene = random_scene(rng)
        items.append(WorldItem(f"shapes-{seed}-{i:05d}.png", scene, render(scene, size)))
    return items


def combination_world(seed: int, size: int = 128) -> list[WorldItem]:
    """One render of every attribute combination, jittered from ``seed``."""
    rng = random.Random(seed)
    return [
        WorldItem(f"shapes-{seed}-combo-{i:05d}.png", scene, render(scene, size))
        for i, scene in enumerate(scene_for(a, rng) for a in all_combinations())
    ]


# ---- scenes with two objects ------------------------------------------------------------
# Two objects of different shapes and colours, one in the left half and one in the right, each
# with its exact box. They ground the "why is this similar?" heatmaps (pointing game) and the
# model check's binding and relation probes.

_PAIR_RADII = {"small": 0.1, "large": 0.14}


@dataclass(frozen=True)
class Thing:
    """One object of a two-object scene: what it is and where (fractions of the image side)."""

    shape: str
    color: str
    size: str
    centre: tuple[float, float]
    rotation: float = 0.0

    @property
    def label(self) -> str:
        return f"{self.color} {self.shape}"


@dataclass(frozen=True)
class PairScene:
    """A background and two things, ``left`` strictly left of ``right``."""

    background: str
    left: Thing
    right: Thing

    @property
    def things(self) -> tuple[Thing, Thing]:
        return self.left, self.right


def random_pair(rng: random.Random) -> PairScene:
    """Two objects with different shapes and different colours, one per half of the image."""
    shapes = rng.sample(SHAPES, 2)
    colors = rng.sample(tuple(COLORS), 2)
    things = [Thing(shape, color, rng.choice(SIZES),
                    (rng.uniform(*x_range), rng.uniform(0.28, 0.72)), rng.uniform(-12.0, 12.0))
              for shape, color, x_range in zip(shapes, colors, ((0.22, 0.34), (0.66, 0.78)))]
    return PairScene(rng.choice(tuple(BACKGROUNDS)), things[0], things[1])


def _draw_thing(draw: ImageDraw.ImageDraw, thing: Thing, big: int, fill) -> None:
    centre = (thing.centre[0] * big, thing.centre[1] * big)
    _draw_shape(draw, thing.shape, centre, _PAIR_RADII[thing.size] * big, thing.rotation, fill)


def render_pair(scene: PairScene, size: int = 128) -> Image.Image:
    """Draw a two-object scene as an RGB image of ``size`` x ``size`` pixels (antialiased)."""
    big = size * _SUPERSAMPLE
    image = Image.new("RGB", (big, big), BACKGROUNDS[scene.background])
    draw = ImageDraw.Draw(image)
    for thing in scene.things:
        _draw_thing(draw, thing, big, COLORS[thing.color])
    return image.resize((size, size), Image.Resampling.LANCZOS)


def thing_box(thing: Thing, size: int = 128) -> tuple[float, float, float, float]:
    """The object's exact bounding box (x0, y0, x1, y1) as fractions of the image side."""
    big = size * _SUPERSAMPLE
    mask = Image.new("L", (big, big), 0)
    _draw_thing(ImageDraw.Draw(mask), thing, big, 255)
    x0, y0, x1, y1 = mask.getbbox()
    return x0 / big, y0 / big, x1 / big, y1 / big


def pair_caption(scene: PairScene) -> str:
    """'a red circle to the left of a blue square'."""
    return f"a {scene.left.label} to the left of a {scene.right.label}"


@dataclass(frozen=True)
class PairItem:
    """A rendered two-object scene."""

    name: str
    scene: PairScene
    image: Image.Image


def pair_world(n: int, seed: int, size: int = 128) -> list[PairItem]:
    """``n`` two-object scenes rendered deterministically from ``seed``."""
    rng = random.Random(seed)
    return [PairItem(f"pair-{seed}-{i:05d}.png", scene, render_pair(scene, size))
            for i, scene in enumerate(random_pair(rng) for _ in range(n))]
