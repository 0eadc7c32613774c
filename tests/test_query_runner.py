"""One runner answers every query spec: neighbours (text, image, item; kind and metadata filters), compose,
condition and feedback; scores are cosines, best first; the registry takes a new method in one function."""
import json
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from indexing.query.compose import COMPOSE_METHODS
from indexing.query.condition import ConditionError
from indexing.shapes.demo import demo_plan
from indexing.labels.label_store import LabelStore
from indexing.query.runner import Scored, answers
from indexing.query.specs import (REGISTRY, ComposeQuery, ConditionQuery, Feedback, NeighboursQuery, QueryError,
                                  SCHEMA, Source, Spec, from_json, spec_type,
                                  with_feedback)
from indexing.ingest.sources import plan_uploads
from tests.conftest import image_bytes


def near(text=None, item=None, image=None, **kw) -> NeighboursQuery:
    return NeighboursQuery(Source(text=text, item=item, image=image), **kw)


@pytest.fixture
def filled(lab):
    lab.ingest(plan_uploads([
        ("red.png", image_bytes((255, 0, 0))), ("blue.png", image_bytes((0, 0, 255))),
        ("green.png", image_bytes((0, 255, 0))),
        ("t.csv", b"text,colour\na red thing,red\na blue thing,blue\na green thing,green\n")]))
    return lab


@pytest.fixture
def world_lab(lab):
    lab.ingest(demo_plan(30, seed=5))
    return lab


def first_image(lab):
    return next(r for r in lab.vectors()[0] if r.kind == "image")


def test_text_query_scores_are_cosine_and_sorted(filled):
    hits = filled.run(near("a red thing", k=6)).hits()
    assert len(hits) == 6
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert hits[0].text == "a red thing" and hits[0].score == pytest.approx(1.0, abs=1e-4)
    q = filled.encoder.encode_texts(["a red thing"])[0]
    stored = {r.id: r.embedding for r in filled.store.get([h.id for h in hits], with_vectors=True)}
    for h in hits:
        assert h.score == pytest.approx(float(np.dot(q, stored[h.id])), abs=1e-4)


def test_image_query_finds_the_same_image_first(filled):
    hits = filled.run(near(image=image_bytes((0, 0, 255)), k=3, kind="image")).hits()
    assert hits[0].name == "blue.png" and hits[0].score == pytest.approx(1.0, abs=1e-3)
    assert all(h.kind == "image" for h in hits)


def test_item_query_never_returns_the_item(filled):
    first = filled.run(near("a green thing", k=1)).hits()[0]
    hits = filled.run(near(item=first.id, k=10)).hits()
    assert first.id not in [h.id for h in hits] and len(hits) == 5


def test_kind_and_metadata_filters(filled):
    texts = filled.run(near("thing", k=10, kind="text")).hits()
    assert {h.kind for h in texts} == {"text"} and len(texts) == 3
    blue = filled.run(near("thing", k=10, filters={"colour": "blue"})).hits()
    assert [h.text for h in blue] == ["a blue thing"]
    assert filled.run(near("thing", k=10, kind="image", filters={"colour": "blue"})).hits() == []


@pytest.mark.parametrize("make, message", [
    (lambda: near("   "), "empty"), (lambda: near(), "exactly one"), (lambda: near("a", item="b"), "exactly one"),
    (lambda: near("a", k=0), "k must be"), (lambda: near("a", kind="video"), "kind must be"),
])
def test_bad_specs_are_refused_with_what_to_do(make, message):
    with pytest.raises(QueryError, match=message):
        make()


def test_an_unknown_item_says_what_to_do(filled):
    with pytest.raises(QueryError, match="No item 'nope'"):
        filled.run(near(item="nope"))


def test_empty_index_returns_nothing(lab):
    assert lab.run(near("anything")).hits() == []


def test_the_pool_judged_is_the_list_the_neighbours_page_showed(lab):
    """A saved query re-runs exactly: same scores, same filters, same order (the first 8 of its depth-100 pool)."""
    lab.ingest(demo_plan(40, seed=4))
    labels = LabelStore(lab.settings.data_dir)
    for spec in (near("a red circle", k=8, kind="image", filters={"size": "large"}), near(item=first_image(lab).id, k=8)):
        shown = [h.id for h in lab.run(spec).hits()]
        saved = labels.query(labels.save_query("q", spec).qid)
        assert saved.spec == spec
        assert [i for i, _ in lab.run(saved.spec, k=100).rankings()["clip"][:8]] == shown and len(shown) == 8


def test_compose_runs_every_method_and_excludes_the_reference(world_lab):
    ref = first_image(world_lab)
    results = world_lab.run(ComposeQuery(Source(item=ref.id), "make it blue, and a star", k=50))
    records = results.snapshot.records
    assert results.methods == list(COMPOSE_METHODS) and results.main == "sum"
    for m in results.methods:
        assert ref.id not in [h.id for h in results.hits(m)]
        assert all(h.kind == "image" for h in results.hits(m))
        assert results.scores(m) == sorted(results.scores(m), reverse=True)
    image_ranks = [results.ranks("sum")[i] for i, r in enumerate(records) if r.kind == "image" and r.id != ref.id]
    assert results.ranks("sum")[results.exclude] > max(image_ranks)  # the reference ranks after every image


def test_uploaded_reference_and_lambda_extremes(world_lab):
    image_only = world_lab.run(ComposeQuery(Source(image=image_bytes()), "make it blue", lam=0.0))
    assert image_only.exclude is None and any("image-only" in n for n in image_only.notes)
    assert image_only.top["sum"] == image_only.top["image"]
    text_only = world_lab.run(ComposeQuery(Source(image=image_bytes()), "make it blue", lam=1.0))
    assert text_only.top["sum"] == text_only.top["text"]


@pytest.mark.parametrize("kwargs, message", [
    ({"text": "  "}, "modification text is empty"), ({"lam": 1.5}, "λ must be between"),
    ({"methods": ("sum", "telepathy")}, "Compose methods must be"), ({"methods": ()}, "Compose methods must be"),
])
def test_compose_bad_input(kwargs, message):
    with pytest.raises(QueryError, match=message):
        ComposeQuery(Source(item="img-1"), **{"text": "make it blue", **kwargs})


def test_text_reference_and_text_item_reference_are_refused(lab):
    with pytest.raises(QueryError, match="must be an image"):
        ComposeQuery(Source(text="a red circle"), "make it blue")
    lab.ingest(plan_uploads([("t.txt", b"a red circle\n"), ("a.png", image_bytes())]))
    text = next(r for r in lab.vectors()[0] if r.kind == "text")
    with pytest.raises(QueryError, match="must be an image"):
        lab.run(ComposeQuery(Source(item=text.id), "make it blue"))


def test_compose_on_an_empty_index_says_so(lab):
    with pytest.raises(QueryError, match="collection is empty"):
        lab.run(ComposeQuery(Source(image=image_bytes()), "make it blue"))


def test_condition_kinds_pick_their_methods(world_lab):
    ref = Source(item=first_image(world_lab).id)
    for text, kind, methods in (("color", "focus", ["image", "sum", "basis"]),
                                ("blue", "change", ["image", "sum", "basis", "product"]),
                                ("the car", "object", ["image", "sum"])):
        results = world_lab.run(ConditionQuery(ref, text))
        assert results.condition.kind == kind and results.methods == methods
    with pytest.raises(ConditionError, match="fewer than two"):
        world_lab.run(ConditionQuery(ref, "color", vocabulary={"color": ["red"]}))


def test_a_saved_condition_keeps_its_edited_vocabulary(world_lab):
    """The bug: a saved Condition query dropped the edited vocabulary, so its re-run was another query."""
    edited = {"color": ["red", "blue"], "shape": ["circle", "square", "star"]}
    spec = ConditionQuery(Source(item=first_image(world_lab).id), "color", edited, k=10)
    shown = world_lab.run(spec).rankings()
    labels = LabelStore(world_lab.settings.data_dir)
    saved = labels.query(labels.save_query("colour only", spec).qid)
    assert saved.spec.vocabulary == edited
    rerun = world_lab.run(saved.spec).rankings()
    assert rerun == shown
    assert rerun["basis"] != world_lab.run(ConditionQuery(spec.reference, "color", k=10)).rankings()["basis"]


def test_a_saved_uploaded_reference_is_kept_and_reruns(world_lab):
    spec = ComposeQuery(Source(image=image_bytes((0, 0, 255))), "make it red")
    labels = LabelStore(world_lab.settings.data_dir)
    saved = labels.query(labels.save_query("blue → red", spec).qid)
    assert saved.spec.reference.image_path.startswith("queries/")
    assert world_lab.run(saved.spec).rankings() == world_lab.run(spec).rankings()


def test_a_deleted_query_image_is_a_one_line_error(world_lab):
    labels = LabelStore(world_lab.settings.data_dir)
    saved = labels.save_query("by image", near(image=image_bytes()))
    (world_lab.settings.data_dir / saved.spec.source.image_path).unlink()
    with pytest.raises(QueryError, match="no longer under"):
        world_lab.run(labels.query(saved.qid).spec)


def test_rocchio_feedback_moves_towards_the_relevant_and_keeps_the_filters(world_lab):
    spec = near("a red circle", k=20, kind="image")
    plain = world_lab.run(spec)
    target = plain.hits()[-1].id  # graded relevant: Rocchio must pull it up
    refined = world_lab.run(with_feedback(spec, Feedback(beta=2.0)), grades={target: 3})
    assert refined.methods == ["clip", "rocchio"]
    assert refined.top["clip"] == plain.top["clip"]
    assert [h.id for h in refined.hits("rocchio")].index(target) < len(plain.hits()) - 1
    assert all(h.kind == "image" for h in refined.hits("rocchio"))  # the spec's kind holds for feedback too


def test_a_new_query_type_registers_once_and_runs_saves_and_reads_back(filled, tmp_path):
    """The one registry: a spec class registered once is read back from JSON, saved and re-run from the label
    store, and answered by the runner, with its family naming its runs."""
    @spec_type("opposite")
    @dataclass(frozen=True)
    class Opposite(Spec):  # the items least like a text: a toy, but a complete query type
        text: str
        k: int = 3
        feedback: Feedback | None = None
        source_field: ClassVar[str | None] = None  # starts from no image

        def to_json(self, identity: bool = False) -> dict:
            return {"schema": 1, "type": "opposite", "text": self.text, "k": self.k}

        @classmethod
        def from_fields(cls, kind, d, feedback):
            return cls(d["text"], d.get("k", 3), feedback)

    @answers(Opposite)
    def opposite(spec, context):
        q = context.encoder.encode_texts([spec.text])[0]
        return Scored({"opposite": -(context.snapshot.vectors @ q)}, -q, "opposite")

    try:
        spec = from_json({"type": "opposite", "text": "a red thing"})
        hits = filled.run(spec).hits()
        nearest = filled.run(near("a red thing", k=6)).hits()
        assert [h.id for h in hits] == [h.id for h in reversed(nearest)][:3]
        labels = LabelStore(tmp_path)
        saved = labels.save_query("least red", spec)
        again = {q.qid: q for q in labels.queries()}[saved.qid]
        assert again.spec == spec and again.family == "opposite" and spec.key() == again.spec.key()
    finally:
        REGISTRY.pop("opposite")


def test_json_round_trip_is_the_spec_itself():
    for spec in (near("red", k=5, kind="image", filters={"size": "large"}, feedback=Feedback(alpha=0.5)),
                 near(item="img-1"), NeighboursQuery(Source(image_path="queries/x.img")),
                 ComposeQuery(Source(item="img-1"), "make it blue", 0.3, ("sum", "product"), 4),
                 ComposeQuery(Source(image_path="queries/x.img"), "make it blue"),
                 ConditionQuery(Source(item="img-1"), "color", {"color": ["red", "blue"]}, 8)):
        assert from_json(spec.to_json()) == spec


def test_specs_saved_by_earlier_versions_still_read():
    """Saved queries from before the query model: the same JSON keys, defaults for what they lacked."""
    old_compose = from_json({"type": "compose", "reference": "img-1", "text": "make it blue", "lam": 0.3})
    assert old_compose.methods == COMPOSE_METHODS and old_compose.lam == 0.3  # the page's default methods
    old_text = from_json({"type": "text", "text": "red", "feedback": {"alpha": 1.0, "beta": 0.5, "gamma": 0.1}})
    assert old_text.feedback == Feedback(beta=0.5, gamma=0.1) and old_text.k == NeighboursQuery(old_text.source).k
    assert from_json({"type": "condition", "reference": "img-1", "condition": "color"}).vocabulary["color"]


@pytest.mark.parametrize("data, message", [
    ({"type": "telepathy"}, "type must be"), ({"type": "compose", "text": "make it blue"}, "one reference"),
    ({"type": "text", "text": "red", "colour": "x"}, "Unknown field"), ({"type": "text", "text": "red", "k": "9"}, "k must"),
    ({"type": "text", "text": "red", "feedback": {"alpha": -1}}, "alpha must"), ([1, 2], "JSON object"),
])
def test_bad_json_specs_say_what_is_wrong(data, message):
    with pytest.raises(QueryError, match=message):
        from_json(data)


def test_an_unsaved_upload_cannot_be_written_as_json():
    with pytest.raises(QueryError, match="no saved copy"):
        near(image=image_bytes()).to_json()


def test_an_uploaded_reference_that_is_indexed_never_ranks_in_its_own_results(world_lab):
    """Ids are content hashes: uploaded bytes of a stored image name that item, excluded like a picked one."""
    ref = first_image(world_lab)
    data = world_lab.blobs.original_path(ref.id).read_bytes()
    for spec in (ComposeQuery(Source(image=data), "make it blue", k=50),
                 ConditionQuery(Source(image=data), "color", k=50)):
        results = world_lab.run(spec)
        assert results.snapshot.records[results.exclude].id == ref.id
        assert all(ref.id not in [h.id for h in results.hits(m)] for m in results.methods)
        assert any(ref.id in n and "left out" in n for n in results.notes)
    saved = LabelStore(world_lab.settings.data_dir)  # a saved query keeps a copy of the bytes: still excluded
    spec = saved.query(saved.save_query("q", ComposeQuery(Source(image=data), "make it blue", k=50)).qid).spec
    assert spec.reference.image_path and ref.id not in [h.id for h in world_lab.run(spec).hits()]
    other = world_lab.run(ComposeQuery(Source(image=image_bytes((1, 2, 3))), "make it blue"))  # not stored
    assert other.exclude is None and not any("left out" in n for n in other.notes)


def test_an_item_is_found_by_its_file_name_or_a_unique_prefix(world_lab):
    records = world_lab.vectors()[0]
    image = first_image(world_lab)
    by_name = world_lab.run(near(item=image.name, k=5))
    assert by_name.snapshot.records[by_name.exclude].id == image.id
    assert any(image.id in n for n in by_name.notes)
    stem = image.name.rsplit(".", 1)[0]  # a prefix only this item's name has
    assert sum(r.name.startswith(stem) for r in records) == 1
    assert world_lab.run(near(item=stem, k=5)).exclude == by_name.exclude
    assert world_lab.run(near(item=image.id, k=5)).notes == []  # by id: nothing to say
    with pytest.raises(QueryError, match="No item 'nothing-like-this.png'.*each card shows its id"):
        world_lab.run(near(item="nothing-like-this.png"))
    prefix = image.name[:3]
    assert sum(r.name.startswith(prefix) for r in records) > 1
    with pytest.raises(QueryError, match=r"file names start with .*type more of the name"):
        world_lab.run(near(item=prefix))


def test_a_name_several_items_share_takes_the_first_and_says_so(lab):
    lab.ingest(plan_uploads([("a/cat.png", image_bytes((255, 0, 0))), ("b/cat.png", image_bytes((0, 0, 255)))]))
    records = lab.vectors()[0]
    assert [r.name for r in records].count("cat.png") == 2
    results = lab.run(near(item="cat.png", k=1))
    assert results.snapshot.records[results.exclude].name == "cat.png"
    assert any("the first of 2 items with that name" in n for n in results.notes)


SPECS_V1 = Path(__file__).parent / "fixtures" / "specs_v1"


@pytest.mark.parametrize("path", sorted(SPECS_V1.glob("*.json")), ids=lambda p: p.stem)
def test_specs_saved_before_the_schema_version_read_keep_their_key_and_run(world_lab, path):
    """Today's saved JSON (no "schema") still reads as the same question, writes schema 1, and runs."""
    data = json.loads(path.read_text())
    spec = from_json(data)
    assert "schema" not in data and spec.to_json()["schema"] == SCHEMA
    assert {k: v for k, v in spec.to_json().items() if k != "schema"} == data  # nothing else changed
    assert from_json(spec.to_json()) == spec and from_json(spec.to_json()).key() == spec.key()
    assert spec.family == {"text": "neighbours", "image": "neighbours", "item": "neighbours"}.get(data["type"],
                                                                                                  data["type"])
    if spec.adapter:
        return  # its adapter belongs to the collection it was saved in
    first = first_image(world_lab)
    shipped = world_lab.settings.data_dir / "queries" / "0123456789abcdef01234567.img"
    shipped.parent.mkdir(parents=True, exist_ok=True)
    shipped.write_bytes(world_lab.blobs.original_path(first.id).read_bytes())
    text = path.read_text().replace('"img-1"', json.dumps(first.id))
    ids = [h.id for h in world_lab.run(from_json(json.loads(text))).hits()]
    if data["type"] == "image":  # a stored image asked about finds itself first
        assert ids[0] == first.id
    elif data["type"] == "text":
        assert ids
    else:  # an item or a reference is never its own result
        assert ids and first.id not in ids


def test_a_spec_from_a_newer_simlab_is_refused_with_what_to_do():
    with pytest.raises(QueryError, match="newer SimLab"):
        from_json({"schema": SCHEMA + 1, "type": "text", "text": "red"})


def test_one_key_names_a_question_and_an_uploaded_image_by_its_bytes():
    a, b = near(image=image_bytes((255, 0, 0))), near(image=image_bytes((0, 0, 255)))
    assert a.key() != b.key() and a.key() == near(image=image_bytes((255, 0, 0))).key()
    assert near("red", k=3).question() == near("red", k=9, feedback=Feedback(), adapter="x").question()
    assert near("red", k=3).key() != near("red", k=9).key()


def test_a_condition_query_may_name_its_methods_and_reads_back_with_them(world_lab):
    ref = first_image(world_lab)
    spec = ConditionQuery(Source(item=ref.id), "color", methods=("image", "text", "sum"))
    assert from_json(spec.to_json()) == spec and spec.to_json()["methods"] == ["image", "text", "sum"]
    assert "methods" not in ConditionQuery(Source(item=ref.id), "color").to_json()  # today's JSON unchanged
    assert set(world_lab.run(spec).top) == {"image", "text", "sum"}
    with pytest.raises(QueryError, match="Condition methods"):
        ConditionQuery(Source(item=ref.id), "color", methods=("telepathy",))
