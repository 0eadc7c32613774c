"""The shapes world is deterministic and its captions match its attributes."""
import numpy as np

from indexing.shapes import world
from indexing.shapes.demo import demo_plan


def test_same_seed_same_pixels_and_captions():
    a, b = world.make_world(6, seed=11), world.make_world(6, seed=11)
    assert [x.attributes for x in a] == [y.attributes for y in b]
    assert all(np.array_equal(np.asarray(x.image), np.asarray(y.image)) for x, y in zip(a, b))
    c = world.make_world(6, seed=12)
    assert [x.attributes for x in a] != [y.attributes for y in c]


def test_no_two_renders_identical():
    attrs = world.all_combinations()[0]
    import random
    rng = random.Random(0)
    images = [np.asarray(world.render(world.scene_for(attrs, rng))) for _ in range(3)]
    assert not np.array_equal(images[0], images[1]) and not np.array_equal(images[1], images[2])


def test_vocabulary_sizes_and_combinations():
    assert len(world.SHAPES) >= 6 and {"circle", "square", "triangle", "star"} <= set(world.SHAPES)
    assert len(world.COLORS) >= 8 and {"red", "green", "blue", "yellow"} <= set(world.COLORS)
    assert len(world.SIZES) >= 2 and len(world.BACKGROUNDS) >= 4 and len(world.POSITIONS) >= 3
    assert len(world.all_combinations()) >= 500


def test_captions_name_the_attributes():
    a = {"shape": "star", "color": "red", "size": "large", "background": "teal", "position": "top left"}
    assert world.full_caption(a) == "a large red star on a teal background, top left"
    assert "a red star" in world.partial_captions(a) and "a star on teal" in world.partial_captions(a)
    assert {"red", "something red", "a star"} <= set(world.single_captions(a))
    assert world.template_keys("a {color} {shape} on {background}") == ("shape", "color", "background")


def test_colour_is_rendered_where_the_shape_is():
    attrs = {"shape": "square", "color": "red", "size": "large", "background": "black", "position": "center"}
    import random
    pixels = np.asarray(world.render(world.scene_for(attrs, random.Random(1)), size=64)).astype(int)
    centre = pixels[28:36, 28:36].reshape(-1, 3).mean(axis=0)
    corner = pixels[:6, :6].reshape(-1, 3).mean(axis=0)
    assert centre[0] > 180 and centre[1] < 80 and corner.max() < 40


def test_demo_plan_carries_attributes_as_metadata():
    plan = demo_plan(8, seed=3)
    images = [i for i in plan.items if i.kind == "image"]
    assert len(images) == 8
    assert set(images[0].metadata) == {"shape", "color", "size", "background", "position"}
    assert images[0].load()[:8] == b"\x89PNG\r\n\x1a\n"
