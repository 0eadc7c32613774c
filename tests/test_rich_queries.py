"""Composed and conditional queries over a collection: exclusions, bad input, every method present."""
import pytest

from indexing.compose import COMPOSE_METHODS
from indexing.condition import ConditionError
from indexing.demo import demo_plan
from indexing.rich_queries import Reference, compose, condition
from indexing.search import QueryError
from indexing.sources import plan_uploads
from tests.conftest import image_bytes


@pytest.fixture
def world_lab(lab):
    lab.ingest(demo_plan(30, seed=5))
    return lab


def first_image(records):
    return next(r for r in records if r.kind == "image")


def test_compose_runs_every_method_and_excludes_the_reference(world_lab):
    records, vectors = world_lab.vectors()
    ref = first_image(records)
    result = compose(Reference(item=ref.id), "make it blue, and a star", world_lab.encoder, records, vectors, k=50)
    assert set(result.results) == set(COMPOSE_METHODS)
    for r in result.results.values():
        assert ref.id not in [records[i].id for i in r.top]
        assert all(records[i].kind == "image" for i in r.top)
        assert r.scores == sorted(r.scores, reverse=True)
    image_ranks = [result.ranks["sum"][i] for i, r in enumerate(records) if r.kind == "image" and r.id != ref.id]
    assert result.ranks["sum"][result.reference_index] > max(image_ranks)  # the reference ranks after every image


def test_uploaded_reference_and_lambda_extremes(world_lab):
    records, vectors = world_lab.vectors()
    result = compose(Reference(image=image_bytes()), "make it blue", world_lab.encoder, records, vectors, lam=0.0)
    assert result.reference_index is None and any("image-only" in n for n in result.notes)
    assert result.results["sum"].top == result.results["image"].top
    text_only = compose(Reference(image=image_bytes()), "make it blue", world_lab.encoder, records, vectors, lam=1.0)
    assert text_only.results["sum"].top == text_only.results["text"].top


@pytest.mark.parametrize("kwargs, message", [
    ({"modification": "  "}, "modification text is empty"),
    ({"lam": 1.5}, "λ must be between"),
])
def test_compose_bad_input(world_lab, kwargs, message):
    records, vectors = world_lab.vectors()
    args = {"modification": "make it blue", "lam": 0.5, **kwargs}
    with pytest.raises(QueryError, match=message):
        compose(Reference(item=first_image(records).id), args["modification"], world_lab.encoder, records,
                vectors, args["lam"])


def test_text_item_as_reference_and_missing_reference(lab):
    lab.ingest(plan_uploads([("t.txt", b"a red circle\n"), ("a.png", image_bytes())]))
    records, vectors = lab.vectors()
    text = next(r for r in records if r.kind == "text")
    with pytest.raises(QueryError, match="must be an image"):
        compose(Reference(item=text.id), "make it blue", lab.encoder, records, vectors)
    with pytest.raises(QueryError, match="Choose a reference"):
        condition(Reference(), "color", lab.encoder, records, vectors)


def test_empty_index(lab):
    records, vectors = lab.vectors()
    with pytest.raises(QueryError, match="collection is empty"):
        compose(Reference(image=image_bytes()), "make it blue", lab.encoder, records, vectors)


def test_condition_kinds_pick_their_methods(world_lab):
    records, vectors = world_lab.vectors()
    ref = Reference(item=first_image(records).id)
    cond, result = condition(ref, "color", world_lab.encoder, records, vectors)
    assert cond.kind == "focus" and set(result.results) == {"image", "sum", "basis"}
    cond, result = condition(ref, "blue", world_lab.encoder, records, vectors)
    assert cond.kind == "change" and set(result.results) == {"image", "sum", "basis", "product"}
    cond, result = condition(ref, "the car", world_lab.encoder, records, vectors)
    assert cond.kind == "object" and set(result.results) == {"image", "sum"}
    with pytest.raises(ConditionError, match="fewer than two"):
        condition(ref, "color", world_lab.encoder, records, vectors, vocabulary={"color": ["red"]})
