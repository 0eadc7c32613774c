"""Composed and conditional methods on hand-made vectors whose right answers are known."""
import numpy as np
import pytest

from indexing.query.compose import ComposeInputs, compose_scores, slerp, split_clauses, weighted_sum
from indexing.query.condition import (ConditionError, ConditionInputs, condition_scores, methods_for, parse_condition,
                                project, text_basis)
from indexing.core.ranking import normalise, rank, ranks_of, top_k

E = np.eye(6, dtype=np.float32)  # axes: 0 shape=star, 1 shape=circle, 2 red, 3 blue, 4 bg teal, 5 bg black


def v(*weights) -> np.ndarray:
    return normalise(np.array(weights, np.float32))


def test_weighted_sum_and_slerp_endpoints():
    a, b = E[0], E[2]
    assert np.allclose(weighted_sum(a, b, 0.0), a) and np.allclose(weighted_sum(a, b, 1.0), b)
    assert np.allclose(slerp(a, b, 0.0), a) and np.allclose(slerp(a, b, 1.0), b)
    mid = slerp(a, b, 0.5)
    assert np.isclose(np.linalg.norm(mid), 1) and np.isclose(mid @ a, mid @ b)
    assert np.allclose(slerp(a, a, 0.3), a)  # identical inputs: no division by zero


def test_split_clauses():
    assert split_clauses("make it blue, and a star; on black") == ["make it blue", "a star", "on black"]
    assert split_clauses("make it blue") == ["make it blue"]
    assert split_clauses(" ; ") == []


def gallery():
    # 0: red star on teal (the reference), 1: blue star on teal (target), 2: blue circle on black,
    # 3: red star on a teal-ish black (closest to the reference), 4: blue star on black
    return np.stack([v(1, 0, 1, 0, 1, 0), v(1, 0, 0, 1, 1, 0), v(0, 1, 0, 1, 0, 1), v(1, 0, 1, 0, 0.8, 0.6),
                     v(1, 0, 0, 1, 0, 1)])


def test_composed_methods_find_the_target_and_baselines_do_not():
    g = gallery()
    x = ComposeInputs(image=g[0], text=E[3], clauses=E[3][None, :], gallery=g, lam=0.5)
    scores = compose_scores(x)
    for method in ("sum", "slerp", "product", "clauses"):
        assert rank(scores[method], 1, exclude=0)[0] == 1, method
    assert rank(scores["image"], 1, exclude=0)[0] == 3  # image only keeps red
    assert scores["text"][1] == scores["text"][2] == scores["text"][4]  # text only cannot tell blue things apart


def test_clause_split_requires_every_clause():
    g = gallery()
    clauses = np.stack([E[3], E[5]])  # "make it blue; on black" → 4: blue star on black
    x = ComposeInputs(image=g[0], text=normalise(E[3] + E[5]), clauses=clauses, gallery=g, lam=0.5)
    assert rank(compose_scores(x, ("clauses",))["clauses"], 1, exclude=0)[0] == 4


def test_reference_never_returned_and_ranks():
    s = np.array([0.9, 0.8, 0.1, 0.5])
    assert rank(s, 10, exclude=0).tolist() == [1, 3, 2]
    assert ranks_of(s, exclude=0).tolist() == [4, 1, 3, 2]
    masked = np.array([0.9, 0.2, -np.inf, 0.5])
    assert top_k(masked, 10, exclude=0) == [3, 1]  # k past every eligible item: never the excluded or masked


def test_lambda_out_of_range_and_unknown_method():
    g = gallery()
    with pytest.raises(ValueError, match="λ"):
        compose_scores(ComposeInputs(g[0], E[3], E[3][None], g, lam=1.5))
    with pytest.raises(ValueError, match="Unknown method"):
        compose_scores(ComposeInputs(g[0], E[3], E[3][None], g), ("magic",))


def test_parse_condition():
    assert parse_condition("Colour").kind == "focus" and parse_condition("colour").attribute == "color"
    change = parse_condition("blue")
    assert change.kind == "change" and change.attribute == "color" and "red" in change.values
    assert parse_condition("the car").kind == "object" and methods_for(parse_condition("the car")) == ("image", "sum")
    with pytest.raises(ConditionError, match="empty"):
        parse_condition("  ")
    with pytest.raises(ConditionError, match="fewer than two"):
        parse_condition("color", {"color": ["red"]})


def test_text_basis_focuses_on_the_attribute():
    # Colour words live on axes 2 and 3 (plus a shared "colour word" direction on axis 4).
    values = np.stack([v(0, 0, 1, 0, 1, 0), v(0, 0, 0, 1, 1, 0)])
    basis = text_basis(values)
    assert basis.shape == (1, 6) and abs(basis[0, 4]) < 1e-6  # the shared direction is centred away
    ref = v(1, 0, 1, 0, 1, 0)  # red star on teal
    candidates = np.stack([v(1, 0, 0, 1, 1, 0), v(0, 1, 1, 0, 0, 1)])  # blue star on teal, red circle on black
    x = ConditionInputs(reference=ref, condition_text=v(0, 0, 0.5, 0.5, 0, 0), gallery=candidates, basis=basis)
    scores = condition_scores(x, ("image", "basis"))
    assert scores["image"].argmax() == 0  # unconditioned: the blue star shares more
    assert scores["basis"].argmax() == 1  # with respect to colour: the red circle
    g = gallery()
    assert np.allclose(np.linalg.norm(project(g, basis), axis=1), 1)


def test_change_with_product_fusion_keeps_the_rest():
    g = gallery()
    value = v(0, 0, 0, 1, 0, 0)  # "blue"
    x = ConditionInputs(reference=g[0], condition_text=value, gallery=g, value_text=value)
    s = condition_scores(x, ("product",))["product"]
    assert rank(s, 1, exclude=0)[0] == 1  # the blue star on teal


def test_ties_keep_index_order_whatever_k():
    """The first 12 of a depth-100 ranking are the top 12: what Label pools is what Neighbours showed."""
    rng = np.random.default_rng(0)
    for _ in range(50):
        s = rng.integers(0, 4, 300).astype(float)  # heavy ties
        assert rank(s, 12).tolist() == rank(s, 100)[:12].tolist() == rank(s, 300)[:12].tolist()
        assert rank(s, 12).tolist() == sorted(range(300), key=lambda i: (-s[i], i))[:12]


def test_rank_with_fewer_finite_scores_than_k_keeps_its_order():
    """A narrow filter leaves fewer finite scores than k: the finite ones best first, then masked items in
    index order (never the excluded one before them), as for any k."""
    rng = np.random.default_rng(1)
    for trial in range(50):
        s = rng.choice([0.1, 0.5, 0.9, -np.inf], size=40, p=[0.05, 0.05, 0.05, 0.85]).astype(np.float32)
        exclude = int(rng.integers(0, 40)) if trial % 2 else None
        for k in (1, 5, 39, 40):
            masked = s.astype(np.float64)
            if exclude is not None:
                masked[exclude] = -np.inf
            expected = sorted(range(40), key=lambda i: (-masked[i], i))[:min(k, 40 - (exclude is not None))]
            assert rank(s, k, exclude).tolist() == expected
