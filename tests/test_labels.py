"""Judgments in SQLite, metrics against hand-computed values, TREC round trips, Rocchio, agreement."""
import subprocess
import sys
import threading

import numpy as np
import pytest

from indexing.labels.label_store import LabelError, LabelStore
from indexing.labels.metrics import agreement, evaluate_run
from indexing.labels.judging import blind_order, pool
from indexing.query.runner import rocchio
from indexing.query.specs import ComposeQuery, NeighboursQuery, QueryError, Source, from_json
from indexing.labels.trec import import_qrels, judgments_csv, qrels_text, run_text
from tests.conftest import REPO

QRELS = {"q1": {"d1": 2, "d2": 0, "d3": 1}, "q2": {"d5": 0, "d6": 3}}
RUN = {"q1": {"d1": 0.9, "d2": 0.8, "d3": 0.1, "d4": 0.05}, "q2": {"d5": 0.9, "d7": 0.5, "d6": 0.4}}


def test_metrics_match_hand_computed_values():
    m = evaluate_run("clip", RUN, QRELS)
    # q1: DCG = 2/log2(2) + 1/log2(4) = 2.5, IDCG = 2 + 1/log2(3) → 0.9502; q2: DCG = 3/log2(4), IDCG = 3 → 0.5
    assert m.per_query["q1"]["nDCG@10"] == pytest.approx(2.5 / (2 + 1 / np.log2(3)), abs=1e-4)
    assert m.per_query["q2"]["nDCG@10"] == pytest.approx(0.5, abs=1e-4)
    assert m.per_query["q1"]["P@10"] == pytest.approx(0.2) and m.per_query["q2"]["P@10"] == pytest.approx(0.1)
    assert m.per_query["q1"]["MRR@10"] == 1.0 and m.per_query["q2"]["MRR@10"] == pytest.approx(1 / 3)
    assert m.per_query["q1"]["Recall@k"] == 1.0
    assert m.mean["MRR@10"] == pytest.approx((1 + 1 / 3) / 2)
    assert m.unjudged_top10 == {"q1": 1, "q2": 1}  # d4 and d7 were never judged: said, not hidden


def test_judgments_are_updated_not_duplicated(tmp_path):
    labels = LabelStore(tmp_path)
    labels.save_query("red things", NeighboursQuery(Source(text="red")), qid="q1")
    labels.judge("q1", "d1", "ann", 1)
    labels.judge("q1", "d1", "ann", 3)
    labels.judge("q1", "d1", "bob", 2)
    assert [(j.annotator, j.rel) for j in labels.judgments("q1")] == [("ann", 3), ("bob", 2)]
    assert labels.qrels() == {"q1": {"d1": 3}}  # mean 2.5 rounds half up
    with pytest.raises(LabelError, match="outside the scale"):
        labels.judge("q1", "d1", "ann", 7)
    with pytest.raises(LabelError, match="annotator"):
        labels.judge("q1", "d1", " ", 1)
    assert LabelStore(tmp_path).judgments("q1")  # durable: a new store object (a restart) sees them


def test_saved_query_specs_are_validated(tmp_path):
    labels = LabelStore(tmp_path)
    with pytest.raises(QueryError, match="one reference"):
        from_json({"type": "compose", "text": "make it blue"})
    saved = labels.save_query("", ComposeQuery(Source(item="img-1"), "make it blue", lam=0.3))
    assert labels.query(saved.qid).spec.lam == 0.3 and saved.name == "make it blue"
    with labels._connect() as db:  # a spec this version cannot read is listed, with why, not raised
        db.execute("UPDATE queries SET spec = ? WHERE qid = ?", ('{"type": "telepathy"}', saved.qid))
    broken = labels.query(saved.qid)
    assert broken.spec is None and broken.type == "unreadable"
    with pytest.raises(LabelError, match="cannot run.*type must be"):
        broken.runnable


def test_qrels_export_import_round_trip(tmp_path):
    a = LabelStore(tmp_path / "a")
    for q, docs in QRELS.items():
        for d, r in docs.items():
            a.judge(q, d, "ann", r)
    text = qrels_text(a.qrels())
    b = LabelStore(tmp_path / "b")
    report = import_qrels(text.encode(), b, known_items=None)
    assert report.imported == 5 and sorted(report.new_queries) == ["q1", "q2"] and not report.errors
    assert b.qrels() == a.qrels() == QRELS
    assert {q.qid for q in b.queries()} == {"q1", "q2"}


def test_bad_qrels_lines_reported_by_number_good_lines_kept(tmp_path):
    labels = LabelStore(tmp_path)
    data = "q1 0 d1 2\nq1 0 d2\nq1 0 d3 x\nq1 0 d4 9\nq1 0 ghost 1\nq1 0 d5 1\n".encode("latin-1")
    report = import_qrels(data, labels, known_items={"d1", "d2", "d3", "d4", "d5"})
    assert report.imported == 2
    assert [n for n, _ in report.errors] == [2, 3, 4, 5]
    assert "unknown item id 'ghost'" in dict(report.errors)[5]
    latin = "q\xe9 0 d1 1\n".encode("latin-1")  # another encoding: decoded, not refused
    assert import_qrels(latin, labels, known_items={"d1"}).imported == 1


def test_run_file_and_csv_safety():
    assert run_text({"q1": {"a": 0.5, "b": 0.9}}, "clip").splitlines() == [
        "q1 Q0 b 1 0.9 clip", "q1 Q0 a 2 0.5 clip"]
    from indexing.labels.label_store import Judgment
    csv_text = judgments_csv([Judgment("q1", "=cmd|' /C calc'!A0", "@bob", 1, 0.0)])
    assert "'=cmd" in csv_text and "'@bob" in csv_text


def test_rocchio_moves_towards_relevant_and_away_from_non_relevant():
    q = np.array([1.0, 0.0, 0.0], np.float32)
    rel = np.array([[0.0, 1.0, 0.0]], np.float32)
    non = np.array([[0.0, 0.0, 1.0]], np.float32)
    refined = rocchio(q, rel, non, 1.0, 0.75, 0.15)
    assert np.isclose(np.linalg.norm(refined), 1) and refined[1] > 0 and refined[2] < 0
    assert np.allclose(rocchio(q, rel[:0], non[:0]), q)


def test_pool_is_deduplicated_round_robin_and_blind_order_is_stable():
    rankings = {"a": [("x", 1.0), ("y", 0.9)], "b": [("y", 1.0), ("z", 0.5)]}
    assert pool(rankings, depth=2) == ["x", "y", "z"]
    assert blind_order(["x", "y", "z"], "q1", "ann") == blind_order(["x", "y", "z"], "q1", "ann")


def test_agreement_needs_shared_pairs(tmp_path):
    labels = LabelStore(tmp_path)
    for item, (a, b) in {"d1": (2, 2), "d2": (0, 0), "d3": (3, 1), "d4": (1, 1)}.items():
        labels.judge("q1", item, "ann", a)
        labels.judge("q1", item, "bob", b)
    labels.judge("q1", "d9", "cy", 1)
    result = agreement(labels.judgments())
    assert list(result) == [("ann", "bob")] and result[("ann", "bob")]["pairs"] == 4
    assert 0 < result[("ann", "bob")]["kappa"] < 1


def _write_many(path, annotator, n):
    labels = LabelStore(path)
    for i in range(n):
        labels.judge("q1", f"d{i}", annotator, i % 4)


def test_parallel_writers_lose_nothing(tmp_path):
    LabelStore(tmp_path)
    # Separate interpreters (not multiprocessing: after AppTest has run a page, spawn would re-run it).
    code = ("import sys; from indexing.labels.label_store import LabelStore; s = LabelStore(sys.argv[1]); "
            "[s.judge('q1', f'd{i}', sys.argv[2], i % 4) for i in range(50)]")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path), f"p{i}"], cwd=REPO) for i in range(2)]
    threads = [threading.Thread(target=_write_many, args=(tmp_path, f"t{i}", 50)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    assert len(LabelStore(tmp_path).judgments("q1")) == 6 * 50
