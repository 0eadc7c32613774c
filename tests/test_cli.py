"""``python -m indexing`` as a user runs it: JSON summaries, exit codes, progress on stderr."""
import json
import subprocess
import sys

import pytest

from tests.conftest import REPO, image_bytes, tiny_env


def run(env, *args, check_rc=None):
    proc = subprocess.run([sys.executable, "-m", "indexing", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)
    if check_rc is not None:
        assert proc.returncode == check_rc, proc.stderr
    return proc


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "photos"
    d.mkdir()
    (d / "red.png").write_bytes(image_bytes((255, 0, 0)))
    (d / "blue.png").write_bytes(image_bytes((0, 0, 255)))
    (d / "notes.txt").write_text("a red square\na blue sky\n")
    return d


@pytest.mark.slow
def test_ingest_search_stats_round_trip(tmp_path, folder):
    env = tiny_env(tmp_path / "data")
    proc = run(env, "ingest", str(folder), check_rc=0)
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (summary["added"], summary["skipped"], summary["failed"], summary["errors"]) == (4, 0, 0, [])
    assert "4/4" in proc.stderr  # tqdm progress

    again = json.loads(run(env, "ingest", str(folder), check_rc=0).stdout.strip().splitlines()[-1])
    assert again["added"] == 0 and again["skipped"] == 4

    spec = json.dumps({"type": "compose", "reference": next(h["id"] for h in json.loads(run(
        env, "search", "--text", "red", "--kind", "image", "--json", check_rc=0).stdout)), "text": "make it blue"})
    composed = json.loads(run(env, "search", "--spec", spec, "--k", "1", "--json", check_rc=0).stdout)
    assert set(composed) == {"image", "text", "sum", "slerp", "product", "clauses"}
    assert all(len(hits) == 1 and hits[0]["kind"] == "image" for hits in composed.values())
    bad = run(env, "search", "--spec", '{"type": "compose", "text": "x"}', check_rc=2)
    assert bad.stderr.strip() == "error: A compose query needs one reference: an item id or a saved image."

    stats = json.loads(run(env, "stats", "--json", check_rc=0).stdout)
    assert {k: stats[k] for k in ("count", "images", "texts", "dim")} == {"count": 4, "images": 2, "texts": 2,
                                                                           "dim": 32}
    assert set(stats) >= {"count", "images", "texts", "model", "dim", "store", "data_dir"}

    hits = json.loads(run(env, "search", "--text", "a blue sky", "--k", "3", "--json", check_rc=0).stdout)
    assert hits[0]["text"] == "a blue sky" and len(hits) == 3
    assert set(hits[0]) == {"id", "score", "kind", "name", "text", "metadata"}
    images = json.loads(run(env, "search", "--image", str(folder / "red.png"), "--kind", "image", "--json",
                            check_rc=0).stdout)
    assert images[0]["name"] == "red.png" and all(h["kind"] == "image" for h in images)
    by_item = json.loads(run(env, "search", "--item", hits[0]["id"], "--json", check_rc=0).stdout)
    assert hits[0]["id"] not in [h["id"] for h in by_item]


@pytest.mark.slow
def test_partial_failure_exits_1_and_fatal_exits_2(tmp_path, folder):
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    env = tiny_env(tmp_path / "data")
    proc = run(env, "ingest", str(folder), check_rc=1)
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["added"] == 4 and summary["failed"] == 1
    assert summary["errors"][0]["source"].endswith("broken.jpg")

    down = {**env, "CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": "9"}
    proc = run(down, "ingest", str(folder), check_rc=2)
    assert proc.stderr.strip().splitlines()[-1].startswith("error: Cannot open the store")

    proc = run({**env, "SIMLAB_MODEL": "No-Such-Model"}, "stats", check_rc=2)
    assert "Unknown model" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_labels_import_export_metrics(tmp_path, folder):
    env = tiny_env(tmp_path / "data")
    run(env, "ingest", str(folder), check_rc=0)
    hits = json.loads(run(env, "search", "--text", "a red square", "--json", check_rc=0).stdout)
    from indexing.labels.label_store import LabelStore
    from indexing.query.specs import NeighboursQuery, Source

    LabelStore(tmp_path / "data").save_query("red", NeighboursQuery(Source(text="a red square")), qid="q-red")
    qrels = tmp_path / "in.qrels"
    qrels.write_text(f"q-red 0 {hits[0]['id']} 3\nq-red 0 {hits[1]['id']} 0\nq-red 0 nope 2\nbroken line\n"
                     f"q-new 0 {hits[2]['id']} 1\n")
    proc = run(env, "labels", "import", str(qrels), check_rc=1)
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["imported"] == 3 and report["new_queries"] == ["q-new"]
    assert [e["line"] for e in report["errors"]] == [3, 4] and "in.qrels:3: unknown item id" in proc.stderr
    exported = run(env, "labels", "export", "--format", "qrels", check_rc=0).stdout
    assert sorted(exported.splitlines()) == sorted(
        [f"q-red 0 {hits[0]['id']} 3", f"q-red 0 {hits[1]['id']} 0", f"q-new 0 {hits[2]['id']} 1"])
    metrics = json.loads(run(env, "labels", "metrics", "--json", check_rc=0).stdout)
    assert list(metrics) == ["neighbours/clip"]  # q-new was imported: judged, never run
    clip = metrics["neighbours/clip"]
    assert set(clip) == {"ndcg@10", "p@10", "recall@100", "mrr@10", "queries", "unjudged_top10"}
    assert clip["mrr@10"] == 1.0 and clip["queries"] == 1


@pytest.mark.slow
def test_scripted_pooling_and_one_algorithm_per_metrics_row(tmp_path, folder):
    """labels save prints a qid a script can import qrels for; Compose's 'sum' and Condition's 'sum' are two
    rows of the metrics and two tags of the run file, never one."""
    env = tiny_env(tmp_path / "data")
    run(env, "ingest", str(folder), check_rc=0)
    from indexing.ingest.sources import image_id

    red, blue = (image_id((folder / n).read_bytes()) for n in ("red.png", "blue.png"))
    qids = {}
    for name, spec in (("c", {"type": "compose", "reference": red, "text": "make it blue"}),
                       ("d", {"type": "condition", "reference": red, "condition": "color"})):
        qids[name] = run(env, "labels", "save", "--spec", json.dumps(spec), check_rc=0).stdout.strip()
        assert qids[name].startswith("q-")
    again = json.loads(run(env, "labels", "save", "--spec", json.dumps(
        {"type": "compose", "reference": red, "text": "make it blue"}), "--name", "renamed", "--json",
        check_rc=0).stdout)
    assert again == {"qid": qids["c"], "name": "renamed", "family": "compose"}  # one spec, one saved query
    bad = run(env, "labels", "save", "--spec", '{"type": "compose", "reference": "img-none", "text": "x"}',
              check_rc=2)
    assert "No item 'img-none'" in bad.stderr
    qrels = tmp_path / "pool.qrels"
    qrels.write_text(f"{qids['c']} 0 {blue} 2\n{qids['d']} 0 {blue} 0\n")
    run(env, "labels", "import", str(qrels), "--annotator", "script", check_rc=0)
    metrics = json.loads(run(env, "labels", "metrics", "--json", check_rc=0).stdout)
    assert {"compose/sum", "condition/sum"} <= set(metrics) and all("/" in name for name in metrics)
    assert metrics["compose/sum"]["queries"] == metrics["condition/sum"]["queries"] == 1
    assert metrics["compose/sum"]["p@10"] > 0 and metrics["condition/sum"]["p@10"] == 0
    tags = {line.split()[5] for line in run(env, "labels", "export", "--format", "run", check_rc=0).stdout.splitlines()}
    assert {"compose/sum", "condition/sum"} <= tags and "sum" not in tags
    for name in ("", "   ", "x" * 101, "tab\there"):
        refused = run(env, "labels", "import", str(qrels), "--annotator", name, check_rc=2)
        assert refused.stderr.startswith("error: ") and len(refused.stderr.strip().splitlines()) == 1, refused.stderr


@pytest.mark.slow
def test_kill_9_midway_then_ingest_again_equals_a_clean_ingest(tmp_path):
    import os
    import signal

    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(48):
        (folder / f"{i:02d}.png").write_bytes(image_bytes((i * 5, 255 - i * 5, (i * 37) % 256), size=(96, 72)))
    killed_env = {**tiny_env(tmp_path / "killed"), "SIMLAB_BATCH": "4"}
    proc = subprocess.Popen([sys.executable, "-m", "indexing", "ingest", str(folder)], cwd=REPO, env=killed_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    import re

    seen = ""
    while not any(8 <= int(n) <= 36 for n in re.findall(r"(\d+)/48", seen)):  # some batches written, most not
        chunk = proc.stderr.read(1)
        assert chunk, f"ingest ended before it could be killed: {seen[-300:]}"
        seen += chunk
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    again = json.loads(run(killed_env, "ingest", str(folder), check_rc=0).stdout.strip().splitlines()[-1])
    assert again["added"] + again["skipped"] == 48 and again["skipped"] >= 8 and again["failed"] == 0

    clean_env = tiny_env(tmp_path / "clean")
    run(clean_env, "ingest", str(folder), check_rc=0)
    ids = {}
    for name, e in (("killed", killed_env), ("clean", clean_env)):
        stats = json.loads(run(e, "stats", "--json", check_rc=0).stdout)
        hits = json.loads(run(e, "search", "--text", "x", "--k", "100", "--json", check_rc=0).stdout)
        ids[name] = (stats["count"], sorted(h["id"] for h in hits))
    assert ids["killed"] == ids["clean"] and ids["clean"][0] == 48


def test_help_and_argument_errors_answer_at_once_without_torch_or_chromadb():
    """--help and a mistyped command import neither torch nor chromadb (they took 8 s when imported up front)."""
    probe = ("import runpy, sys, time\n"
             "sys.argv = ['indexing', *sys.argv[1:]]\n"
             "t = time.perf_counter()\n"
             "try:\n    runpy.run_module('indexing', run_name='__main__')\n"
             "except SystemExit as exc:\n    code = exc.code\n"
             "heavy = sorted(m for m in ('torch', 'chromadb', 'open_clip', 'ray') if m in sys.modules)\n"
             "print('RESULT', code, heavy, round(time.perf_counter() - t, 3), file=sys.stderr)\n")
    for args, code in ((["--help"], 0), (["labels", "--help"], 0), (["serach"], 2), (["search"], 2)):
        proc = subprocess.run([sys.executable, "-c", probe, *args], cwd=REPO, capture_output=True, text=True,
                              timeout=60)
        result = proc.stderr.strip().splitlines()[-1].split(" ", 3)
        assert result[:3] == ["RESULT", str(code), "[]"], (args, proc.stderr)
        assert float(result[3]) < 1.0, (args, result)


@pytest.mark.slow
def test_search_by_file_name_and_an_indexed_reference_left_out(tmp_path, folder):
    from indexing.labels.label_store import LabelStore
    from indexing.query.specs import ComposeQuery, Source
    from indexing.ingest.sources import image_id

    env = tiny_env(tmp_path / "data")
    run(env, "ingest", str(folder), check_rc=0)
    red = image_id((folder / "red.png").read_bytes())
    by_name = json.loads(run(env, "search", "--item", "red.png", "--json", check_rc=0).stdout)
    assert red not in [h["id"] for h in by_name] and len(by_name) == 3
    missing = run(env, "search", "--item", "green.png", check_rc=2)
    assert "No item 'green.png'" in missing.stderr
    # an uploaded reference, saved (as Label saves it), re-run from the command line: its own item never ranks
    labels = LabelStore(tmp_path / "data")
    saved = labels.query(labels.save_query("q", ComposeQuery(Source(image=(folder / "red.png").read_bytes()),
                                                             "make it blue")).qid)
    spec = json.dumps({"type": "compose", "reference_image": saved.spec.reference.image_path, "text": "make it blue"})
    composed = json.loads(run(env, "search", "--spec", spec, "--k", "5", "--json", check_rc=0).stdout)
    assert all(red not in [h["id"] for h in hits] and len(hits) == 1 for hits in composed.values())


@pytest.mark.slow
def test_evaluate_shows_each_task_and_its_time_on_stderr(tmp_path):
    proc = run(tiny_env(tmp_path / "data"), "evaluate", "--task", "t2i,i2t", "--json", check_rc=0)
    assert set(json.loads(proc.stdout)) == {"t2i", "i2t"}
    assert "evaluate: t2i" in proc.stderr and "evaluate: i2t" in proc.stderr and "2/2" in proc.stderr
    assert [line.split(":")[0] for line in proc.stderr.replace("\r", "\n").splitlines()
            if line.endswith(" s") and ":" in line and "|" not in line] == ["t2i", "i2t"]


def test_a_search_says_its_notes_on_stderr(tmp_path, folder):
    """A region search over images without region vectors says so, as the page does, instead of an empty list."""
    env = {**tiny_env(tmp_path / "data"), "SIMLAB_REGIONS": "0"}
    run(env, "ingest", str(folder), check_rc=0)
    spec = json.dumps({"type": "text", "text": "red", "match": "region"})
    proc = run(env, "search", "--spec", spec, "--json", check_rc=0)
    assert json.loads(proc.stdout) == {"regions": []}
    assert "note: Region vectors are ready for 0 of 2 images" in proc.stderr
