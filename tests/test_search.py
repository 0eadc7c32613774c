"""Queries by text, image and item; filters; scores are cosine similarities, best first."""
import numpy as np
import pytest

from indexing.search import Query, QueryError
from indexing.sources import plan_uploads
from tests.conftest import image_bytes


@pytest.fixture
def filled(lab):
    lab.ingest(plan_uploads([
        ("red.png", image_bytes((255, 0, 0))), ("blue.png", image_bytes((0, 0, 255))),
        ("green.png", image_bytes((0, 255, 0))),
        ("t.csv", b"text,colour\na red thing,red\na blue thing,blue\na green thing,green\n")]))
    return lab


def test_text_query_scores_are_cosine_and_sorted(filled):
    hits = filled.search(Query(text="a red thing"), k=6)
    assert len(hits) == 6
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert hits[0].text == "a red thing" and hits[0].score == pytest.approx(1.0, abs=1e-4)
    q = filled.encoder.encode_texts(["a red thing"])[0]
    stored = {r.id: r.embedding for r in filled.store.get([h.id for h in hits], with_vectors=True)}
    for h in hits:
        assert h.score == pytest.approx(float(np.dot(q, stored[h.id])), abs=1e-4)


def test_image_query_finds_the_same_image_first(filled):
    hits = filled.search(Query(image=image_bytes((0, 0, 255))), k=3, kind="image")
    assert hits[0].name == "blue.png" and hits[0].score == pytest.approx(1.0, abs=1e-3)
    assert all(h.kind == "image" for h in hits)


def test_item_query_never_returns_the_item(filled):
    first = filled.search(Query(text="a green thing"), k=1)[0]
    hits = filled.search(Query(item=first.id), k=10)
    assert first.id not in [h.id for h in hits] and len(hits) == 5


def test_kind_and_metadata_filters(filled):
    texts = filled.search(Query(text="thing"), k=10, kind="text")
    assert {h.kind for h in texts} == {"text"} and len(texts) == 3
    blue = filled.search(Query(text="thing"), k=10, filters={"colour": "blue"})
    assert [h.text for h in blue] == ["a blue thing"]
    none = filled.search(Query(text="thing"), k=10, kind="image", filters={"colour": "blue"})
    assert none == []


@pytest.mark.parametrize("query, message", [
    (Query(text="   "), "empty"), (Query(), "exactly one"), (Query(text="a", item="b"), "exactly one"),
    (Query(item="nope"), "No item"),
])
def test_bad_queries_say_what_to_do(filled, query, message):
    with pytest.raises(QueryError, match=message):
        filled.search(query)


def test_empty_index_returns_nothing(lab):
    assert lab.search(Query(text="anything")) == []


def test_the_pool_judged_is_the_list_the_neighbours_page_showed(lab):
    from indexing.demo import demo_plan
    from indexing.labels import SavedQuery
    from indexing.saved_runs import run_methods

    lab.ingest(demo_plan(40, seed=4))
    records, vectors = lab.vectors()
    for spec in ({"type": "text", "text": "a red circle", "kind": "image", "filters": {"size": "large"}},
                 {"type": "item", "item": next(r.id for r in records if r.kind == "image"), "kind": None,
                  "filters": {}}):
        query = Query(text=spec.get("text"), item=spec.get("item"))
        shown = [h.id for h in lab.search(query, k=8, kind=spec["kind"], filters=spec["filters"])]
        saved = run_methods(SavedQuery("q", "q", spec), lab.encoder, records, vectors, lab.settings.data_dir)
        assert [i for i, _ in saved["clip"][:8]] == shown and len(shown) == 8
