"""Why is this similar? Heatmaps that point at what the query names, the pointing game, and what a page
explains its results against."""
import json
import random
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from indexing.model import explain
from indexing.shapes import world
from indexing.core.errors import InputError
from indexing.evaluation.evaluate import evaluate
from indexing.query.specs import ComposeQuery, ConditionQuery, NeighboursQuery, QueryError, Source
from indexing.ingest.sources import plan_uploads
from tests.conftest import REPO, image_bytes, tiny_env

UNSEEN = world.DEFAULT_EVAL_SEED + 41


def _peak_in(heat: explain.Heatmap, box) -> bool:
    x, y = heat.peak()
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def test_bundled_heatmap_peak_lands_on_the_named_object(shapes_encoder):
    """Each object of unseen two-object scenes, named by colour and shape: the dense peak is in its box,
    never in the other object's."""
    on_target = on_other = 0
    for item in world.pair_world(12, UNSEEN):
        for named, other in (item.scene.things, item.scene.things[::-1]):
            target = shapes_encoder.encode_texts([f"a {named.label}"])[0]
            heat = explain.heatmap(shapes_encoder, item.image, target, "dense")
            on_target += _peak_in(heat, world.thing_box(named))
            on_other += _peak_in(heat, world.thing_box(other))
    assert on_target >= 20 and on_other == 0  # of 24


def test_pointing_game_meets_the_goal_on_an_unseen_seed(shapes_encoder):
    result = evaluate(shapes_encoder, seed=UNSEEN, tasks="pointing", combos=[])["pointing"]
    assert set(result) == {"dense", "occlusion"}
    dense, occlusion = result["dense"], result["occlusion"]
    assert dense["n"] == occlusion["n"] == 100 and 0 < dense["chance"] < 0.15
    assert dense["accuracy"] >= 0.8  # the goal for the best method on the bundled model
    assert dense["other_object"] <= 0.02
    assert occlusion["accuracy"] >= 4 * occlusion["chance"]  # the model-agnostic reference points too


def test_both_methods_point_at_a_lone_object(shapes_encoder):
    scene = world.random_scene(random.Random(UNSEEN), shape="circle", color="red", size="large", background="gray",
                               position="top left")
    dx, dy, scale = scene.jitter[:3]
    centre, radius = (0.3 + dx, 0.3 + dy), 0.22 * scale  # world.render's geometry for a large top-left shape
    target = shapes_encoder.encode_texts(["a red circle"])[0]
    for method in explain.METHODS:
        peak = explain.heatmap(shapes_encoder, world.render(scene), target, method).peak()
        assert np.hypot(peak[0] - centre[0], peak[1] - centre[1]) <= radius * 1.1, method


def test_vit_towers_have_a_dense_path_and_every_model_has_occlusion(tiny_encoder):
    """The tiny test model is a ViT (patch 16 at 32 px): 2x2 patch tokens, unit vectors in the joint space."""
    assert explain.dense_method_available(tiny_encoder)
    tokens = explain.dense_tokens(tiny_encoder, Image.new("RGB", (50, 30), "red"))
    assert tuple(tokens.shape) == (2, 2, tiny_encoder.dim)
    assert np.allclose(tokens.norm(dim=-1).numpy(), 1.0, atol=1e-5)
    target = tiny_encoder.encode_texts(["x"])[0]
    heat = explain.heatmap(tiny_encoder, Image.new("RGB", (50, 30), "red"), target, "occlusion")
    assert heat.values.shape == (explain.OCCLUSION_GRID, explain.OCCLUSION_GRID)
    with pytest.raises(InputError, match="choose one of dense, occlusion"):
        explain.heatmap(tiny_encoder, Image.new("RGB", (8, 8)), target, "gradcam")


def test_vit_dense_tokens_are_the_last_blocks_value_path(tiny_encoder):
    """MaskCLIP for a ViT equals the last block's own attention with each token attending only to itself
    (so the output is out_proj(value)), without the residual and MLP, through ln_post and proj."""
    visual = tiny_encoder.model.visual
    image = Image.new("RGB", (40, 40), (200, 30, 30))
    image.paste(Image.new("RGB", (20, 20), (30, 30, 200)), (20, 0))
    with torch.no_grad():
        x = visual._embeds(explain.pixels_of(tiny_encoder, image, tiny_encoder.image_size))
        for block in visual.transformer.resblocks[:-1]:
            x = block(x)
        last = visual.transformer.resblocks[-1]
        only_self = torch.full((x.shape[1], x.shape[1]), float("-inf"))
        only_self.fill_diagonal_(0.0)
        own = last.ls_1(last.attention(last.ln_1(x), attn_mask=only_self))
        expected = torch.nn.functional.normalize(visual.ln_post(own[:, 1:]) @ visual.proj, dim=-1)[0]
    assert torch.allclose(explain.dense_tokens(tiny_encoder, image).reshape(-1, tiny_encoder.dim), expected, atol=1e-5)


def test_overlay_keeps_weak_regions_true_and_draws_a_legend():
    image = Image.new("RGB", (90, 60), (10, 200, 30))
    values = np.zeros((3, 3), np.float32)
    values[0, 2] = 1.0  # strongest top right
    heat = explain.Heatmap(values, "dense")
    out = explain.overlay(image, heat)
    assert out.size == (90, 60 + explain.LEGEND_PX + 2)
    assert out.getpixel((2, 58)) == (10, 200, 30)  # the weakest corner shows the picture itself
    assert out.getpixel((88, 1)) != (10, 200, 30)  # the strongest corner is tinted
    assert heat.peak()[0] > 0.66 and heat.peak()[1] < 0.34


def test_what_each_query_is_explained_against(lab):
    lab.ingest(plan_uploads([("red.png", image_bytes((255, 0, 0))), ("t.csv", b"text\na red thing\n")]))
    records, _ = lab.vectors()
    image = next(r for r in records if r.kind == "image")
    text_item = next(r for r in records if r.kind == "text")
    encode = lab.encoder.encode_texts

    why = lab.why(NeighboursQuery(Source(text="a red thing")))
    assert why.label == "“a red thing”" and np.allclose(why.vector, encode(["a red thing"])[0], atol=1e-6)
    assert lab.why(NeighboursQuery(Source(item=image.id))).label == "the query item"
    why = lab.why(ComposeQuery(Source(item=image.id), "make it blue"))
    assert why.label == "the modification “make it blue”" and np.allclose(why.vector, encode(["make it blue"])[0])
    why = lab.why(ConditionQuery(Source(item=image.id), "color"))
    assert why.label.endswith("the reference's color") and why.label.split("”")[0][1:] in ConditionQuery(
        Source(item=image.id), "color").vocabulary["color"]
    assert lab.why(ConditionQuery(Source(item=image.id), "the car")).label == "the condition “the car”"
    assert why.key != lab.why(ConditionQuery(Source(item=image.id), "the car")).key

    picture, heat = lab.explained(image.id, why, width=40)
    assert heat.values.ndim == 2 and picture.width <= 40 and picture.mode == "RGB"
    with pytest.raises(InputError, match="no stored image"):
        lab.explained(text_item.id, why)
    with pytest.raises(QueryError, match="No item"):
        lab.why(NeighboursQuery(Source(item="gone")))


def test_cli_pointing_task_prints_task_method_metric(tmp_path):
    out = subprocess.run([sys.executable, "-m", "indexing", "evaluate", "--task", "pointing", "--seed",
                          str(UNSEEN), "--json"], cwd=REPO, env=tiny_env(tmp_path), capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert set(result) == {"pointing"} and set(result["pointing"]) == {"dense", "occlusion"}
    for figures in result["pointing"].values():
        assert set(figures) == {"accuracy", "other_object", "chance", "n"} and 0 <= figures["accuracy"] <= 1
