"""Model check (ARO probes): perturbations, the probes' figures next to chance, the user's captions, the CLI."""
import json
import subprocess
import sys
from collections import Counter

import numpy as np
from hypothesis import given, strategies as st

from indexing.evaluation import probes
from indexing.shapes import world
from indexing.shapes.demo import demo_plan
from tests.conftest import REPO, tiny_env

WORDS = st.lists(st.sampled_from(["a", "red", "circle", "on", "the", "left", "of", "blue", "square", "and", "big"]),
                 min_size=1, max_size=12)


@given(WORDS, st.integers(0, 1000))
def test_shuffles_keep_the_words_and_content_shuffles_keep_function_words_in_place(words, seed):
    caption = " ".join(words)
    for variant in probes.ORDER_VARIANTS:
        for shuffled in probes.perturbed(caption, variant, seed):
            assert shuffled != caption and Counter(shuffled.split()) == Counter(words)
            if variant == "shuffle_nouns_adjectives":
                for before, after in zip(words, shuffled.split()):
                    assert (before in probes.FUNCTION_WORDS) == (after in probes.FUNCTION_WORDS)
                    if before in probes.FUNCTION_WORDS:
                        assert before == after


def test_binding_and_relation_captions_describe_the_scene_first():
    scene = world.PairScene("gray", world.Thing("circle", "red", "small", (0.3, 0.5)),
                            world.Thing("square", "blue", "large", (0.7, 0.5)))
    assert probes.binding_captions(scene) == ("a red circle and a blue square", "a blue circle and a red square")
    assert probes.relation_captions(scene) == ("a circle to the left of a square", "a square to the left of a circle")


def test_prefers_counts_only_strict_wins():
    images = np.eye(2, dtype=np.float32)
    right = np.eye(2, dtype=np.float32)
    wrong = np.stack([np.eye(2, dtype=np.float32)[[1]], np.eye(2, dtype=np.float32)[[1]]])  # a tie for image 1
    assert probes.prefers(images, right, wrong).tolist() == [True, False]


def test_bundled_model_knows_attributes_and_every_figure_has_its_chance(shapes_encoder):
    result = probes.world_probes(shapes_encoder, world.DEFAULT_EVAL_SEED + 43, n=60)
    assert set(result) == {"binding", "relation", "order", "zero_shot"}
    assert result["binding"]["clip"]["chance"] == result["relation"]["clip"]["chance"] == 0.5
    assert all(f["chance"] == 0.25 and f["n"] == 60 for f in result["order"].values())
    for attribute, fig in result["zero_shot"].items():
        assert fig["chance"] == round(1 / len(world.ATTRIBUTES[attribute]), 4)
        assert fig["accuracy"] >= 0.9, attribute  # trained on exactly these attributes
    table = probes.rows(result)
    assert len(table) == 2 + 2 + 5 and table[0]["probe"] == "binding: colours on the right shapes"


def test_order_probe_on_a_collections_captions(lab):
    lab.ingest(demo_plan(30, seed=3, pair_share=0.2))
    records, vectors = lab.vectors()
    fields = probes.caption_fields(records)
    assert fields == {"caption": 6}  # the demo's two-object scenes carry their caption; one-word values don't count
    result = probes.collection_order(lab.encoder, records, vectors, "caption")
    assert all(f["n"] == 6 for f in result.values())
    assert probes.collection_order(lab.encoder, records, vectors, "shape")["shuffle_trigrams"]["n"] == 0


def test_demo_pairs_keep_the_single_object_scenes():
    singles = [i for i in demo_plan(20, seed=4).items if i.metadata.get("shape")]
    mixed = demo_plan(20, seed=4, pair_share=0.25).items
    assert [i.name for i in mixed if i.metadata.get("shape")][:5] == [i.name for i in singles][:5]
    pairs = [i for i in mixed if "caption" in i.metadata]
    assert len(pairs) == 5 and pairs[0].metadata["caption"].startswith(f"a {pairs[0].metadata['left']} to the left")


def test_cli_probe_prints_probe_variant_metric(tmp_path):
    env = tiny_env(tmp_path)
    subprocess.run([sys.executable, "-m", "indexing", "demo", "--n", "20"], cwd=REPO, env=env, check=True,
                   capture_output=True, timeout=300)
    out = subprocess.run([sys.executable, "-m", "indexing", "probe", "--n", "20", "--field", "caption", "--json"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert set(result) == {"binding", "relation", "order", "zero_shot", "order_collection"}
    assert result["order_collection"]["shuffle_trigrams"]["n"] == 2  # 20 demo images, a tenth two-object scenes
    bad = subprocess.run([sys.executable, "-m", "indexing", "probe", "--seed", "5"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and bad.stderr.startswith("error: Seed 5 is reserved for training")
    bad = subprocess.run([sys.executable, "-m", "indexing", "probe", "--n", "0"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "--n must be at least 1" in bad.stderr
