"""SimLab's metrics are trec_eval's: its published test output, its tie order, its reading of run files."""
import json
import random

import pytest

from indexing.labels.metrics import evaluate_run, top, trec_measures, trec_order
from indexing.labels.trec import TrecFileError, read_qrels, read_runs, run_text
from tests.conftest import REPO, tiny_env
from tests.test_cli import run as cli

FIXTURES = REPO / "tests" / "fixtures" / "trec_eval"


def published() -> tuple[dict, dict, dict]:
    qrels = read_qrels((FIXTURES / "qrels.comment.test").read_text(), "qrels.comment.test")
    ((tag, run),) = read_runs((FIXTURES / "results.comment.test").read_text(), "results.comment.test").items()
    expected = {}
    for line in (FIXTURES / "out.test").read_text().splitlines():
        name, _, value = line.split()
        expected[name] = value
    assert tag == expected["runid"] == "STANDARD"
    return qrels, run, expected


def test_trec_eval_published_output_is_reproduced():
    """trec_eval's own check: qrels.comment.test × results.comment.test → out.test."""
    qrels, run, expected = published()
    got = trec_measures(run, qrels)
    for name in ("num_q", "num_ret", "num_rel", "num_rel_ret"):
        assert got[name] == int(expected[name]), name
    for name in ("map", "Rprec", "bpref", "recip_rank", "P_10"):
        assert f"{got[name]:.4f}" == expected[name], name


def test_the_rank_column_and_line_order_are_ignored():
    qrels, run, expected = published()
    lines = (FIXTURES / "results.comment.test").read_text().splitlines()
    random.Random(0).shuffle(lines)
    scrambled = "\n".join(f"{q} Q0 {d} {i} {s} STANDARD" for i, (q, _, d, _, s, _) in
                          enumerate(line.split() for line in lines if not line.startswith("#")))
    again = read_runs(scrambled)["STANDARD"]
    assert trec_measures(again, qrels) == trec_measures(run, qrels)


def test_exported_runs_read_back_to_the_same_numbers():
    """Full-precision scores: a rounded export could tie documents SimLab ranked apart."""
    qrels, run, _ = published()
    close = {q: {d: s + i * 1e-9 for i, (d, s) in enumerate(docs.items())} for q, docs in run.items()}
    ((tag, back),) = read_runs(run_text(close, "simlab")).items()
    assert tag == "simlab" and back == close
    assert trec_measures(back, qrels) == trec_measures(close, qrels)
    # SimLab's export: every method in one file, tags made one field; it reads back as separate runs
    both = read_runs(run_text(close, "clip") + run_text(close, "adapter held out"))
    assert list(both) == ["clip", "adapter_held_out"] and both["clip"] == both["adapter_held_out"] == close


def test_ties_are_broken_by_document_id_descending_everywhere():
    scores = {"d1": 0.5, "d3": 0.5, "d2": 0.5, "d0": 0.9}
    assert [d for d, _ in trec_order(scores)] == ["d0", "d3", "d2", "d1"]
    assert list(top(scores, 2)) == ["d0", "d3"]
    assert run_text({"q": scores}, "t").splitlines()[1] == "q Q0 d3 2 0.5 t"
    qrels = {"q": {"d1": 1}}
    # trec_eval puts d1 last among the tied: reciprocal rank 1/4, the same in SimLab's own MRR@10
    assert trec_measures({"q": scores}, qrels)["recip_rank"] == pytest.approx(0.25)
    assert evaluate_run("m", {"q": scores}, qrels).mean["MRR@10"] == pytest.approx(0.25)
    # a tie across the 10th place: the document trec_eval keeps in the top 10 is the one SimLab counts
    tied = {f"d{i:02d}": 1.0 for i in range(12)}
    assert evaluate_run("m", {"q": tied}, {"q": {"d00": 1}}).unjudged_top10["q"] == 10
    assert evaluate_run("m", {"q": tied}, {"q": {"d11": 1}}).unjudged_top10["q"] == 9


def test_graded_ndcg_by_hand():
    """ndcg in trec_eval: gain = grade, discount log2(rank + 1), ideal from the qrels' grades."""
    qrels = {"q": {"a": 3, "b": 0, "c": 1, "z": 2}}  # z is never retrieved
    got = trec_measures({"q": {"a": 0.9, "b": 0.8, "c": 0.7}}, qrels)
    import math
    dcg = 3 + 0 + 1 / math.log2(4)
    ideal = 3 + 2 / math.log2(3) + 1 / math.log2(4)
    assert got["ndcg"] == pytest.approx(dcg / ideal) and got["ndcg_cut_10"] == pytest.approx(dcg / ideal)
    negative = trec_measures({"q": {"a": 0.9, "b": 0.8}}, {"q": {"a": -1, "b": 2}})  # grades below 1: not relevant
    assert negative["num_rel"] == 1 and negative["recip_rank"] == 0.5


@pytest.mark.parametrize("text, message", [
    ("301 Q0 d1 1 0.5\n", "results:1: expected 'qid Q0 docno rank score tag', got 5 fields"),
    ("301 Q0 d1 1 high t\n", "results:1: score 'high' is not a number"),
    ("301 Q0 d1 1 0.5 t\n301 Q0 d1 2 0.4 t\n", "results:2: d1 is listed twice for query 301 in run t"),
])
def test_bad_run_lines_are_named(text, message):
    with pytest.raises(TrecFileError, match=message):
        read_runs(text, "results")
    with pytest.raises(TrecFileError, match="qrels:2: relevance 'x' is not a whole number"):
        read_qrels("# comment\n301 0 d1 x\n", "qrels")


def test_the_command_line_compares_run_files_side_by_side(tmp_path):
    env = tiny_env(tmp_path / "data")
    other = tmp_path / "other.run"
    other.write_text((FIXTURES / "results.comment.test").read_text().replace("STANDARD", "OTHER"))
    proc = cli(env, "labels", "metrics", "--qrels", str(FIXTURES / "qrels.comment.test"), "--run",
               str(FIXTURES / "results.comment.test"), "--run", str(other), "--json", check_rc=0)
    result = json.loads(proc.stdout)
    assert list(result) == ["STANDARD", "OTHER"] and result["STANDARD"] == result["OTHER"]
    assert f"{result['STANDARD']['map']:.4f}" == "0.1785"
    table = cli(env, "labels", "metrics", "--qrels", str(FIXTURES / "qrels.comment.test"), "--run",
                str(FIXTURES / "results.comment.test"), check_rc=0).stdout
    assert "map" in table and "0.1785" in table
    bad = tmp_path / "bad.run"
    bad.write_text("301 Q0 d1 1\n")
    failed = cli(env, "labels", "metrics", "--run", str(bad), check_rc=2)
    assert failed.stderr.strip().endswith("bad.run:1: expected 'qid Q0 docno rank score tag', got 4 fields.")
