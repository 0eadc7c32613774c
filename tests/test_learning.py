"""Labels that pay off: the calibrated cut-off (monotone, held out by query) and the adapter (held out by query,
saved per collection, a method on Neighbours)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from indexing.query import adapter as adapters
from indexing.labels.calibration import (NotEnoughJudgments, cross_validated, features, fit, folds, query_stats)
from indexing.shapes.demo import demo_plan
from indexing.labels.judging import next_to_judge, uncertain_first
from indexing.labels.label_store import LabelStore
from indexing.labels.fitting import held_out_adapter_runs, judged_queries
from indexing.query.specs import NeighboursQuery, QueryError, Source


def synthetic(n_queries=12, per=20, seed=0):
    rng = np.random.default_rng(seed)
    rows, labels, groups = [], [], []
    for q in range(n_queries):
        scores = rng.normal(0.3 + 0.1 * rng.random(), 0.1, 200)
        top = np.sort(scores)[::-1][:per]
        rows.append(features(top, query_stats(scores)))
        labels.append(top + rng.normal(0, 0.05, per) > np.median(top))
        groups += [f"q{q}"] * per
    return np.vstack(rows), np.concatenate(labels), groups


def test_too_few_judgments_say_how_many_more():
    x, y, _ = synthetic(1, 8)
    with pytest.raises(NotEnoughJudgments, match=r"needs \d+ more judgments?") as caught:
        fit(x, y, queries=1)
    assert caught.value.needed >= 12


@settings(max_examples=40, deadline=None)
@given(mean=st.floats(-0.5, 0.9), spread=st.floats(0.001, 0.5), best=st.floats(-0.5, 1.0), seed=st.integers(0, 5))
def test_the_probability_never_falls_as_the_score_rises(mean, spread, best, seed):
    x, y, groups = synthetic(seed=seed)
    cal = fit(x, y, len(set(groups)))
    assert (cal.weights[[0, 1]] >= 0).all()
    scores = np.linspace(-1, 1, 201)
    p = cal.probability(scores, np.array([mean, spread, best]))
    assert (np.diff(p) >= -1e-12).all() and ((p >= 0) & (p <= 1)).all()


def test_cross_validation_never_predicts_a_query_with_its_own_judgments():
    x, y, groups = synthetic()
    masks = folds(groups, 5)
    for test in masks:  # a query's rows are all in one fold
        assert not ({g for g, t in zip(groups, test) if t} & {g for g, t in zip(groups, test) if not t})
    held_out = cross_validated(x, y, groups)
    first = masks[0]
    alone = fit(x[~first], y[~first], len({g for g, t in zip(groups, first) if not t})).predict(x[first])
    assert np.allclose(held_out[first], alone)
    cheating = fit(x, y, len(set(groups))).predict(x[first])
    assert not np.allclose(held_out[first], cheating)  # fitting on everything would give other numbers


def test_uncertain_items_are_judged_first():
    order = uncertain_first(["a", "b", "c", "d"], {"a": 0.95, "b": 0.45, "c": 0.1, "d": 0.62})
    assert order == ["b", "d", "c", "a"]
    assert next_to_judge(["a", "b", "c", "d"], {"b"}, [], "q", "ann", True, order) == "d"


@pytest.fixture
def judged_lab(lab):
    """A demo world with saved text queries judged as an annotator who wants 'same shape' would."""
    lab.ingest(demo_plan(80, seed=3))
    labels = LabelStore(lab.settings.data_dir)
    records, _ = lab.vectors()
    rows = []
    for shape in ("circle", "square", "triangle", "star", "hexagon", "cross"):
        saved = labels.save_query(shape, NeighboursQuery(Source(text=f"a {shape}"), kind="image"))
        for hit in lab.run(saved.spec, k=15).hits():
            rows.append((saved.qid, hit.id, "sim", 2 if hit.metadata.get("shape") == shape else 0))
    labels.judge_many(rows)
    return lab


def test_the_adapter_row_is_held_out(judged_lab, monkeypatch):
    labels = LabelStore(judged_lab.settings.data_dir)
    judged = judged_queries(labels.queries(), labels.qrels(), judged_lab.saved_results)
    trained_on: list[set[str]] = []
    real = adapters.train
    monkeypatch.setattr("indexing.labels.fitting.train", lambda qs, **kw: trained_on.append({q.qid for q in qs})
                        or real(qs, steps=20))
    runs = held_out_adapter_runs(judged, judged_lab.snapshot())
    assert set(runs) == {j.qid for j in judged} and len(trained_on) == 5
    for qid in runs:  # exactly one fold ranked each query, and that fold never saw it
        assert sum(qid not in t for t in trained_on) == 1


def test_a_saved_adapter_is_a_method_on_neighbours_and_can_be_dropped(judged_lab):
    labels = LabelStore(judged_lab.settings.data_dir)
    from indexing.labels.fitting import training_queries

    adapter = adapters.train(training_queries(judged_queries(labels.queries(), labels.qrels(), judged_lab.saved_results)),
                             steps=30)
    adapters.save(adapter, judged_lab.settings.data_dir, judged_lab.store.name, "shape")
    assert adapters.saved(judged_lab.settings.data_dir, judged_lab.store.name)["shape"]["side"] == "both"
    plain = judged_lab.run(NeighboursQuery(Source(text="a red circle"), k=10))
    adapted = judged_lab.run(NeighboursQuery(Source(text="a red circle"), k=10, adapter="shape"))
    q = adapter.apply(judged_lab.encoder.encode_texts(["a red circle"])[0])
    items = adapter.apply(judged_lab.snapshot().vectors)
    assert [h.id for h in adapted.hits()] == [judged_lab.snapshot().records[i].id for i in np.argsort(-(items @ q))[:10]]
    assert adapted.main == "adapter shape" and plain.main == "clip"  # its own row in Label's metrics
    adapters.drop(judged_lab.settings.data_dir, judged_lab.store.name, "shape")
    with pytest.raises(adapters.AdapterError, match="No adapter 'shape'"):
        judged_lab.run(NeighboursQuery(Source(text="a red circle"), adapter="shape"))
    with pytest.raises(adapters.AdapterError, match="letters, digits"):
        adapters.save(adapter, judged_lab.settings.data_dir, judged_lab.store.name, "../evil")


def test_judgments_without_any_order_train_nothing():
    flat = adapters.TrainingQuery("q", np.ones(4, np.float32) / 2, np.eye(4, dtype=np.float32), np.ones(4))
    with pytest.raises(adapters.AdapterError, match="different grades"):
        adapters.train([flat])


def test_an_adapter_is_part_of_a_saved_spec():
    spec = NeighboursQuery(Source(text="red"), adapter="shape")
    from indexing.query.specs import from_json

    assert from_json(spec.to_json()) == spec and "adapter" not in NeighboursQuery(Source(text="red")).to_json()
    with pytest.raises(QueryError):
        from_json({"type": "text", "text": "red", "adapterr": "x"})


def test_feedback_through_an_adapter_stays_in_the_adapter_space(judged_lab):
    """Rocchio on an adapted query refines it among the adapted items, not the stored ones."""
    from indexing.labels.fitting import training_queries
    from indexing.query.runner import rocchio
    from indexing.query.specs import Feedback

    labels = LabelStore(judged_lab.settings.data_dir)
    adapter = adapters.train(training_queries(judged_queries(labels.queries(), labels.qrels(), judged_lab.saved_results)),
                             steps=30)
    adapters.save(adapter, judged_lab.settings.data_dir, judged_lab.store.name, "shape")
    spec = NeighboursQuery(Source(text="a circle"), k=10, kind="image", adapter="shape", feedback=Feedback())
    first = judged_lab.run(spec).hits()
    grades = {first[0].id: 3, first[-1].id: 0}
    got = judged_lab.run(spec, grades=grades)
    snapshot, items = judged_lab.snapshot(), adapter.apply(judged_lab.snapshot().vectors)
    q = adapter.apply(judged_lab.encoder.encode_texts(["a circle"])[0])
    index = snapshot.index
    refined = rocchio(q, items[[index[first[0].id]]], items[[index[first[-1].id]]])
    expected = np.where(snapshot.kinds == "image", items @ refined, -np.inf)
    assert [h.id for h in got.hits("rocchio")] == [snapshot.records[i].id for i in np.argsort(-expected)[:10]]


def test_a_spec_keeps_its_own_k_and_refuses_a_bad_one():
    from indexing.query.specs import from_json

    assert from_json({"type": "text", "text": "red", "k": 3}).k == 3
    with pytest.raises(QueryError, match="k must be"):
        from_json({"type": "text", "text": "red", "k": 0})
    with pytest.raises(QueryError, match="filters"):
        from_json({"type": "text", "text": "red", "filters": 5})
    with pytest.raises(QueryError, match="Adapter name"):
        NeighboursQuery(Source(text="red"), adapter="../x")
