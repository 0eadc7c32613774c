"""Names for the map's regions: zero-shot terms for image clusters, c-TF-IDF for text clusters, the saved
vocabulary, the shapes-world goal, and the Map page drawing and exporting them."""
import csv
import io
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from components.map.view import selection_csv
from indexing.maps import names as cn
from indexing.shapes import world
from indexing.maps.clusters import Clusters
from indexing.shapes.demo import demo_plan
from indexing.core.errors import InputError
from indexing.evaluation.evaluate import evaluate
from indexing.lab import open_lab
from indexing.core.settings import load_settings
from indexing.ingest.sources import plan_uploads
from indexing.store.chroma import Record
from tests.conftest import REPO

XSS = "<b>bold</b>"


def record(i: int, kind: str = "image", text: str | None = None, **metadata) -> Record:
    return Record(f"id{i}", kind, f"n{i}", text, metadata)


def contrived(metadata: list[dict], terms: list[str], weights: list[float]):
    """A cluster of images with this metadata, whose centroid matches ``terms`` with these weights."""
    records = [record(i, **m) for i, m in enumerate(metadata)]
    vocabulary = cn.Vocabulary.of(terms, records)
    term_vectors = np.eye(len(terms), dtype=np.float32)
    vectors = np.tile(np.array(weights, np.float32), (len(records), 1))
    carried = cn.Carried(records, vectors, vocabulary, term_vectors)
    return carried, np.array(weights, np.float32), np.arange(len(records))


def test_a_second_term_carried_by_a_minority_is_dropped():
    # 10 red items; 3 of them squares: "square" matches the centroid best after "red" but is a minority's.
    metadata = [{"color": "red", "shape": "square" if i < 3 else "circle"} for i in range(10)]
    carried, centroid, members = contrived(metadata, ["red", "square", "circle"], [0.9, 0.8, 0.1])
    assert cn.held_terms(centroid, members, carried) == ("red",)
    metadata = [{"color": "red", "shape": "square"} for i in range(10)]  # all squares: both terms hold
    carried, centroid, members = contrived(metadata, ["red", "square", "circle"], [0.9, 0.8, 0.1])
    assert cn.held_terms(centroid, members, carried) == ("red", "square")


def test_no_word_repeats_and_general_words_need_members_that_carry_them():
    metadata = [{"color": "green", "left": "green square"} for _ in range(6)]
    carried, centroid, members = contrived(metadata, ["green", "green square", "kitchen"], [0.9, 0.85, 0.8])
    assert cn.held_terms(centroid, members, carried) == ("green",)  # not "green · green square", not "kitchen"


def test_a_region_no_term_holds_is_named_by_its_size_and_its_picture_carries_its_name(tiny_encoder):
    records = [record(i, color=("red", "blue", "green", "pink")[i % 4]) for i in range(8)]
    vectors = tiny_encoder.encode_texts([f"thing {i}" for i in range(8)])
    names = cn.name_clusters(Clusters(np.zeros(8, int), [8], [[0]]), records, vectors, tiny_encoder,
                             cn.Vocabulary.of(["red", "blue", "green", "pink"], records))
    assert names[0].terms == () and names[0].method == "size" and names[0].label == "8 items (mixed)"
    records = [record(i, color="red" if i % 4 else "blue") for i in range(8)]  # 6 red, 2 blue
    names = cn.name_clusters(Clusters(np.zeros(8, int), [8], [[0]]), records, vectors, tiny_encoder,
                             cn.Vocabulary.of(["red", "blue"], records))
    assert names[0].terms == () or names[0].terms == ("red",)
    if names[0].terms:
        assert records[names[0].exemplar].metadata["color"] == "red"  # the picture above "red" is red


def test_the_exemplar_is_a_member_that_carries_the_name(tiny_encoder):
    records = [record(i, color="red", shape="square" if i else "circle") for i in range(12)]
    vectors = tiny_encoder.encode_texts(["a red circle"] + ["a red square"] * 11)
    vectors[0] = vectors[1:].mean(axis=0)  # the circle sits exactly at the centre
    vectors[0] /= np.linalg.norm(vectors[0])
    names = cn.name_clusters(Clusters(np.zeros(12, int), [12], [[0]]), records, vectors, tiny_encoder,
                             cn.Vocabulary.of(["red", "square", "circle"], records))
    assert set(names[0].terms) == {"red", "square"} and names[0].exemplar != 0  # not the circle at the centre


def test_demo_world_names_hold_on_an_unseen_seed(shapes_encoder):
    """The world the Ingest page loads (shapes, scenes, captions), its default vocabulary: no named term is held
    by fewer than half its region, and the named terms are held by at least 90 % of their regions."""
    figures = evaluate(shapes_encoder, world_name="demo", seed=world.DEFAULT_EVAL_SEED + 5_555,
                       tasks="cluster_names")["cluster_names"]["default_vocabulary"]
    assert figures["contradictions"] == 0 and figures["agreement"] >= 0.9, figures
    assert figures["named"] >= figures["regions"] // 3 and figures["items"] > 550


def test_vocabulary_groups_values_of_one_field_and_cleans_terms():
    records = [record(0, color="Red", shape="circle"), record(1, color="blue")]
    vocabulary = cn.Vocabulary.of([" red ", "blue", "circle", "red", "", "x" * 41, "tree"], records)
    assert vocabulary.terms == ("red", "blue", "circle", "tree")
    assert vocabulary.groups == ("color", "color", "shape", "term:tree")


def test_default_terms_are_short_frequent_metadata_values_then_general_ones():
    records = [record(i, color="red" if i % 3 else "blue", size="12", note="a long free text note here") for i in range(9)]
    terms = cn.default_terms(records)
    assert terms[:2] == ["red", "blue"] and "12" not in terms and "a long free text note here" not in terms
    assert terms[2:] == [t for t in cn.GENERAL_TERMS if t not in ("red", "blue")]


def test_ctfidf_finds_each_text_clusters_distinctive_words():
    documents = ["the cat sat on the mat with a cat and a dog", "the car drove on the road, a fast car and a dog",
                 "the and of"]
    names = cn.ctfidf_terms(documents)
    assert names[0][0] == "cat" and names[1][0] == "car" and "dog" not in names[0][:1] + names[1][:1]
    assert names[2] == ()  # stop words only: no name, not a made-up one


def test_name_clusters_uses_zero_shot_for_images_and_ctfidf_for_texts(tiny_encoder):
    records = [record(0), record(1), record(2, "text", "a cat and another cat"), record(3, "text", "cat food")]
    vectors = tiny_encoder.encode_texts(["red", "red thing", "a cat", "cat food"])
    clusters = Clusters(np.array([0, 0, 1, 1]), [2, 2], [[0, 1], [2, 3]])
    vocabulary = cn.Vocabulary.of(["red", "blue", "tree"])
    names = cn.name_clusters(clusters, records, vectors, tiny_encoder, vocabulary)
    assert names[0].method == "zero-shot" and set(names[0].terms) <= {"red", "blue", "tree"} and len(names[0].terms) == 2
    assert names[1] == cn.ClusterName(("cat", "food"), "c-TF-IDF", 2) and names[1].label == "cat · food"


def test_saved_vocabulary_round_trip(tmp_path):
    assert cn.load_terms(tmp_path, "c") is None
    cn.save_terms(tmp_path, "c", ["red", "  ", "circle "])
    assert cn.load_terms(tmp_path, "c") == ["red", "circle"]
    cn.save_terms(tmp_path, "c", [])
    assert cn.load_terms(tmp_path, "c") is None
    cn.vocabulary_path(tmp_path, "c").write_bytes(b"\xff\xfe\xfa")
    with pytest.raises(InputError, match="delete it to use the default"):
        cn.load_terms(tmp_path, "c")


def test_bundled_names_agree_with_the_ground_truth_on_an_unseen_seed(shapes_encoder):
    result = evaluate(shapes_encoder, seed=world.DEFAULT_EVAL_SEED + 47, tasks="cluster_names", combos=[])
    for method, figures in result["cluster_names"].items():  # the attribute words, and the Map's default vocabulary
        assert figures["agreement"] >= 0.8 and figures["agreement"] >= 3 * figures["chance"], method
        assert figures["n"] == 600 and figures["clusters"] >= 10


def test_region_names_are_escaped_in_the_figure():
    from components.map.figure import Regions, map_figure

    coords = np.array([[0, 0], [1, 1], [5, 5]], np.float32)
    regions = Regions.of(coords, np.array([0, 0, 1]), [XSS, "plain"])
    fig = map_figure(coords, [record(i) for i in range(3)], ["a", "a", "b"], regions=regions)
    texts = [a.text for a in fig.layout.annotations] + [a.hovertext for a in fig.layout.annotations]
    assert "&lt;b&gt;bold&lt;/b&gt;" in texts[0] and not any("<b>" in t for t in texts)


def test_selection_csv_carries_the_region_names():
    rows = list(csv.reader(io.StringIO(selection_csv([record(0, color="red")], ["=red · circle"]))))
    assert rows[0] == ["id", "kind", "name", "text", "region", "color"] and rows[1][4] == "'=red · circle"


@pytest.fixture
def demo(env, tiny_encoder):
    lab = open_lab(load_settings(), encoder=tiny_encoder)
    lab.ingest(demo_plan(40, seed=3))
    lab.ingest(plan_uploads([("t.csv", f"text,tag\n{XSS} one,{XSS}\n".encode())]))
    return lab


def written_names(at) -> list[str]:
    """The region names written on the (2-D) map: its annotations."""
    return [a["text"] for a in json.loads(at.get("plotly_chart")[0].proto.spec)["layout"].get("annotations", [])]


def test_map_writes_region_names_from_the_saved_vocabulary(demo):
    at = AppTest.from_file(str(REPO / "pages/3_Map.py"), default_timeout=300).run()
    assert not at.exception
    drawn = written_names(at)
    assert len(drawn) >= 2 and all("<b>" not in t for t in drawn)  # user text is escaped in the figure
    expanders = [e.label for e in at.expander if "items" in e.label]
    assert len(expanders) >= len(drawn)  # every region is listed; overlapping names are not written
    texts = " ".join(r.text.lower() for r in demo.vectors()[0] if r.kind == "text")

    def text_words(name: str) -> bool:
        return all(w in texts for w in name.split(" · "))

    cn.save_terms(demo.settings.data_dir, demo.store.name, ["alpha", "beta", "gamma"])  # words no item carries
    at.run()
    assert not at.exception and written_names(at)
    assert all(t.endswith("items (mixed)") or text_words(t) for t in written_names(at))  # never a guess
    words = sorted({v for values in world.ATTRIBUTES.values() for v in values})
    cn.save_terms(demo.settings.data_dir, demo.store.name, words)
    at.run()
    vocabulary_names = [t for t in written_names(at) if set(t.split(" · ")) <= set(words)]
    assert vocabulary_names  # image regions now take the saved terms; text regions keep their own words
    assert all(t in vocabulary_names or t.endswith("items (mixed)") or text_words(t) for t in written_names(at))
    at.toggle(key="map_names").set_value(False).run()
    assert not at.exception and not written_names(at)


def test_only_names_that_do_not_overlap_are_written_largest_first():
    from components.map.figure import Regions

    coords = np.array([[0, 0], [100, 100], [1, 0], [50, 50]], np.float32)  # clusters 0 and 1 nearly coincide
    regions = Regions.of(coords, np.array([0, 1, 0, 2]), ["small name", "a much longer region name", "third"])
    regions.centres[:] = [[0.0, 0.0], [1.0, 0.5], [50.0, 50.0]]
    regions.sizes[:] = [5, 9, 1]
    assert regions.readable(coords) == [1, 2]  # 0 overlaps the larger region 1 and is left to the list
    far = Regions(np.array([[0.0, 0.0], [60.0, 0.0]], np.float32), ["a", "b"], [1, 1])
    assert far.readable(coords) == [0, 1]


def layout_images(at) -> list[dict]:
    return json.loads(at.get("plotly_chart")[0].proto.spec)["layout"].get("images", [])


def test_map_draws_thumbnails_for_a_small_collection_and_exemplars_for_a_large_one(demo, monkeypatch):
    import components.map.images

    at = AppTest.from_file(str(REPO / "pages/3_Map.py"), default_timeout=300).run()
    images = [r for r in demo.vectors()[0] if r.kind == "image"]
    drawn = layout_images(at)
    assert len(drawn) == len(images) and all(d["source"].startswith("data:image/jpeg;base64,") for d in drawn)
    assert any(c.value.startswith("Pictures: every image") for c in at.caption)
    monkeypatch.setattr(components.map.images, "ALL_THUMBNAILS_UP_TO", 10)  # now "large": one per region
    at.run()
    regions = [e for e in at.expander if "items" in e.label]
    assert 0 < len(layout_images(at)) <= len(regions) and all(d["yanchor"] == "bottom" for d in layout_images(at))
    at.toggle(key="map_images").set_value(False).run()
    assert not at.exception and layout_images(at) == []


def test_a_picture_above_a_name_keeps_other_names_off_it():
    from components.map.figure import Regions

    coords = np.array([[0, 0], [100, 100]], np.float32)
    # region 1's name sits just above region 0's: the names alone do not touch (35 px apart vertically)
    regions = Regions(np.array([[50.0, 50.0], [50.0, 56.0]], np.float32), ["big region", "small one"], [9, 2])
    assert regions.readable(coords) == [0, 1]
    regions.picture = 10.0  # a picture of a tenth of the map above each name: region 0's covers region 1's name
    assert regions.readable(coords) == [0]
