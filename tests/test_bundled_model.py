"""The shipped simlab-shapes model: loads offline through the ordinary open_clip path and knows the world.

Floors here are loose on purpose (small galleries, so CI stays fast); the full figures are in the README,
from `python -m indexing evaluate`.
"""
import pytest
from safetensors import safe_open

from indexing import world
from indexing.encoder import Encoder
from indexing.evaluate import evaluate
from indexing.lab import open_lab
from indexing.demo import demo_plan
from indexing.models import BUNDLED_WEIGHTS, resolve
from indexing.search import Query
from indexing.settings import load_settings


@pytest.fixture(scope="module")
def shapes_encoder():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        return Encoder(resolve("simlab-shapes"), batch_size=64)


def test_weights_are_small_safetensors():
    assert BUNDLED_WEIGHTS.stat().st_size <= 30 * 1024 * 1024
    with safe_open(str(BUNDLED_WEIGHTS), "pt") as f:
        assert "visual.conv1.weight" in f.keys()


def test_loads_offline_and_embeddings_are_normalised(shapes_encoder):
    v = shapes_encoder.encode_texts(["a red circle", "a blue star"])
    assert v.shape == (2, 128) and abs(float((v ** 2).sum(axis=1).mean()) - 1.0) < 1e-4
    assert shapes_encoder.spec.label.startswith("simlab-shapes (simlab-shapes.safetensors)")


def test_retrieval_floors_on_an_unseen_world(shapes_encoder):
    combos = world.combination_world(world.DEFAULT_EVAL_SEED + 17)[::4]  # 288 combinations
    result = evaluate(shapes_encoder, combos=combos, seed=world.DEFAULT_EVAL_SEED + 17)
    assert result["t2i"]["clip"]["R@1"] >= 0.8
    assert result["i2t"]["clip"]["R@1"] >= 0.7
    assert result["t2i_partial"]["clip"]["R@5"] >= 0.8


def test_a_red_circle_finds_red_circles_in_the_demo_world(env, shapes_encoder):
    lab = open_lab(load_settings(), encoder=shapes_encoder)
    lab.ingest(demo_plan(500))
    hits = lab.search(Query(text="a red circle"), k=10, kind="image")
    red_circles = sum(h.metadata["color"] == "red" and h.metadata["shape"] == "circle" for h in hits)
    assert red_circles >= 8
