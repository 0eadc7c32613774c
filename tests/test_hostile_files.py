"""Hostile files: whatever bytes an image, a JSONL line or a file name holds, that item fails alone with one
line naming it, the rest of the batch is stored, and nothing is read before its size is checked."""
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from indexing.ingest.media import MAX_IMAGE_BYTES, MediaError, decode_image, read_bounded
from indexing.ingest.sources import plan_paths, plan_uploads
from indexing.ingest.texts import read_text_file
from tests.conftest import REPO, tiny_env

FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif", "BMP": ".bmp", "TIFF": ".tif"}


def real_file(fmt: str) -> bytes:
    """A small real picture in ``fmt`` (a gradient, so every format has real compressed data to break)."""
    image = Image.linear_gradient("L").resize((64, 48)).convert("RGB")
    out = io.BytesIO()
    image.save(out, format=fmt, **({"quality": 90} if fmt in ("JPEG", "WEBP") else {}))
    return out.getvalue()


REAL = {fmt: real_file(fmt) for fmt in FORMATS}


def mutated(data: bytes, draw) -> bytes:
    """Truncate, cut after the header, overwrite bytes, or append garbage: what a broken download does."""
    how = draw(st.sampled_from(["truncate", "header+garbage", "flip", "append"]))
    if how == "truncate":
        return data[:draw(st.integers(0, len(data) - 1))]
    if how == "header+garbage":
        return data[:draw(st.integers(2, 40))] + draw(st.binary(min_size=0, max_size=200))
    if how == "flip":
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 20))):
            out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
        return bytes(out)
    return data + draw(st.binary(min_size=1, max_size=100))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(FORMATS)), st.data())
def test_a_mutated_image_of_any_allowed_format_decodes_or_is_refused_never_raised(fmt, data):
    bad = mutated(REAL[fmt], data.draw)
    try:
        image = decode_image(bad)
    except MediaError as exc:
        assert "\n" not in str(exc) and str(exc)  # one line, saying something
    else:
        assert image.mode == "RGB" and image.size[0] > 0


@pytest.mark.parametrize("name, data", [
    ("jfif-garbage.jpg", b"\xff\xd8\xff\xe0" + b"\x13\x37" * 50),
    ("app0-short.jpg", REAL["JPEG"][:12]),
    ("after-sof.jpg", REAL["JPEG"][:REAL["JPEG"].index(b"\xff\xc0") + 12]),
    ("riff-lies.webp", REAL["WEBP"][:4] + (10**8).to_bytes(4, "little") + REAL["WEBP"][8:]),
    ("cut.webp", REAL["WEBP"][:30]),
])
def test_the_files_that_stopped_a_whole_ingest_now_fail_alone(lab, name, data):
    summary = lab.ingest(plan_uploads([(name, data), ("good.png", REAL["PNG"]), ("notes.txt", b"a line\n")]))
    assert summary.added == 2 and summary.failed == 1 and not summary.stopped
    (failure,) = summary.errors
    assert failure.source == name and "\n" not in failure.reason


def jsonl_line(draw) -> str:
    kind = draw(st.sampled_from(["big int", "deep", "surrogate", "junk", "fine", "meta"]))
    if kind == "big int":
        return '{"text": "x", "n": ' + "9" * draw(st.integers(4_301, 20_000)) + "}"
    if kind == "deep":
        depth = draw(st.integers(1_000, 100_000))
        return '{"text": "x", "d": ' + "[" * depth + "]" * depth + "}"
    if kind == "surrogate":
        return json.dumps({"text": "ok"}).replace("ok", "a \\ud800 b" if draw(st.booleans()) else "\\udfff")
    if kind == "junk":
        return draw(st.text(max_size=80))
    if kind == "meta":
        return json.dumps({"text": draw(st.text(min_size=1, max_size=20)), "k": draw(st.text(max_size=20))})
    return json.dumps({"text": draw(st.text(min_size=1, max_size=40))})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_jsonl_line_is_a_record_a_blank_or_that_lines_error(data):
    lines = [jsonl_line(data.draw) for _ in range(data.draw(st.integers(1, 6)))]
    try:
        parsed = read_text_file("x.jsonl", "\n".join(lines).encode("utf-8", "surrogatepass"))
    except MediaError as exc:  # a whole-file reason (a NUL byte: binary content), in one line
        assert "\n" not in str(exc)
        return
    assert all("\n" not in reason for _, reason in parsed.errors)
    for record in parsed.records:
        record.text.encode("utf-8")  # every text kept can be stored
        for k, v in record.metadata.items():
            (k + v).encode("utf-8")


def test_hostile_jsonl_lines_fail_alone_and_the_lines_after_them_are_stored(lab):
    lines = ['{"text": "before"}', '{"text": "x", "n": ' + "9" * 5000 + "}",
             '{"text": "x", "d": ' + "[" * 100_000 + "]" * 100_000 + "}", '{"text": "a \\ud800 b"}',
             '{"text": "after"}']
    summary = lab.ingest(plan_uploads([("hostile.jsonl", "\n".join(lines).encode())]))
    assert summary.added == 2 and summary.failed == 3 and not summary.stopped
    reasons = {e.source: e.reason for e in summary.errors}
    assert set(reasons) == {"hostile.jsonl:2", "hostile.jsonl:3", "hostile.jsonl:4"}
    assert "nested too deeply" in reasons["hostile.jsonl:3"] and "surrogate" in reasons["hostile.jsonl:4"]
    again = lab.ingest(plan_uploads([("hostile.jsonl", "\n".join(lines).encode())]))  # a rerun goes past it too
    assert again.added == 0 and again.skipped == 2


def test_file_names_that_are_not_utf8_are_stored_with_a_replacement_character(lab, tmp_path):
    folder = tmp_path / "latin1"
    folder.mkdir()
    (folder / os.fsdecode(b"caf\xe9.txt")).write_text("one line\nanother\n")
    (folder / os.fsdecode(b"img\xff.png")).write_bytes(REAL["PNG"])
    summary = lab.ingest(plan_paths([folder]))
    assert (summary.added, summary.failed) == (3, 0), summary.errors
    names = {r.name for r in lab.vectors()[0]}
    assert names == {"caf\ufffd.txt", "img\ufffd.png"}


def test_sizes_are_checked_before_reading_and_devices_are_never_read(tmp_path):
    huge = tmp_path / "huge.png"
    with huge.open("wb") as f:  # a sparse 2 GiB file: reading it would take seconds and gigabytes
        f.truncate(2 * 1024**3)
    (tmp_path / "huge.txt").write_bytes(b"")
    os.truncate(tmp_path / "huge.txt", 2 * 1024**3)
    started = time.perf_counter()
    plan = plan_paths([huge, tmp_path / "huge.txt", "/dev/zero"])
    failures = {f.source: f.reason for f in plan.failures}
    assert "too large" in failures[str(tmp_path / "huge.txt")] and "regular file" in failures["/dev/zero"]
    with pytest.raises(MediaError, match="too large"):
        plan.items[0].load()  # the image is refused by its size, unread
    assert time.perf_counter() - started < 2.0
    with pytest.raises(MediaError, match="regular file"):
        read_bounded(__import__("pathlib").Path("/dev/zero"), MAX_IMAGE_BYTES, "image")


def test_search_image_from_a_device_is_one_line_and_reads_nothing(tmp_path):
    run = subprocess.run([sys.executable, "-m", "indexing", "search", "--image", "/dev/zero"],
                         env=tiny_env(tmp_path / "data"), cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and run.stderr.strip().splitlines() == [
        "error: not a regular file: a device, pipe or socket is never read as an image"]


@pytest.mark.parametrize("env", [{"CHROMA_TOKEN": "sekrit-token\nX-Injected: 1"}, {"CHROMA_TOKEN": "sekrit\x07"},
                                 {"CHROMA_HEADERS": '{"Authorization": "Bearer sekrit\\r\\nX: 1"}'}])
def test_a_secret_with_a_line_break_is_refused_and_never_echoed(tmp_path, env):
    from indexing.core.settings import load_settings

    with pytest.raises(ValueError) as refused:
        load_settings(env)
    assert "sekrit" not in str(refused.value) and "control character" in str(refused.value)
    run = subprocess.run([sys.executable, "-m", "indexing", "stats"], env={**tiny_env(tmp_path / "d"), **env},
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "sekrit" not in run.stderr + run.stdout
    assert len(run.stderr.strip().splitlines()) == 1


def test_a_windows_line_ending_on_a_token_is_stripped():
    from indexing.core.settings import load_settings

    assert load_settings({"CHROMA_TOKEN": "abc\r", "CHROMA_HOST": "h"}).headers == {"Authorization": "Bearer abc"}


def test_settings_that_cannot_take_effect_are_refused_and_a_url_host_is_read_as_one():
    from indexing.core.settings import load_settings

    for env in ({"CHROMA_TENANT": "team"}, {"CHROMA_DATABASE": "prod"}):
        with pytest.raises(ValueError, match="set CHROMA_HOST .* or CHROMA_API_KEY"):
            load_settings(env)  # the embedded store has no tenants: they would be silently ignored
    remote = load_settings({"CHROMA_HOST": "db.example", "CHROMA_TENANT": "team", "CHROMA_DATABASE": "prod"})
    assert remote.store_location == "chroma server http://db.example:8000 (tenant team, database prod)"
    assert load_settings({"CHROMA_HOST": "http://db.example:8123"}).store_location == "chroma server http://db.example:8123"
    secure = load_settings({"CHROMA_HOST": "https://db.example"})
    assert (secure.chroma_host, secure.chroma_port, secure.chroma_ssl) == ("db.example", 8000, True)
    with pytest.raises(ValueError, match="CHROMA_HOST is a host name"):
        load_settings({"CHROMA_HOST": "ftp://db.example"})


@pytest.mark.parametrize("path", ["/etc/passwd", "../outside.png", "queries/../../x.png", "~/x.png", "a\\b.png"])
def test_a_spec_image_path_outside_the_data_directory_is_refused_without_describing_it(path):
    from indexing.query.specs import QueryError, from_json

    for spec in ({"type": "image", "image_path": path}, {"type": "compose", "reference_image": path, "text": "x"}):
        with pytest.raises(QueryError, match="refused") as refused:
            from_json(spec)
        assert "text" not in str(refused.value).split("refused")[-1]  # never what the target is


def test_a_link_out_of_the_data_directory_is_not_followed(lab, tmp_path):
    from indexing.query.specs import QueryError, Source, ComposeQuery

    lab.ingest(plan_uploads([("good.png", REAL["PNG"])]))
    secret = tmp_path / "secret.png"
    secret.write_bytes(REAL["JPEG"])
    (lab.settings.data_dir / "queries").mkdir(exist_ok=True)
    (lab.settings.data_dir / "queries" / "link.img").symlink_to(secret)
    with pytest.raises(QueryError, match="not under the data directory; refused"):
        lab.run(ComposeQuery(Source(image_path="queries/link.img"), "make it blue"))


@pytest.mark.parametrize("spec, message", [
    ({"type": "compose", "reference": "img-1", "text": 5}, "modification text must be text, not int"),
    ({"type": "compose", "reference": "img-1", "text": ["make it blue"]}, "must be text, not list"),
    ({"type": "compose", "reference": "img-1", "text": "x", "methods": "slerp"}, "Compose methods are a list"),
    ({"type": "compose", "reference": "img-1", "text": "x", "lam": "0.5"}, "(a number), not '0.5'"),
    ({"type": "text", "text": "x", "feedback": {"beta": 1e308}}, "from 0 to 100"),
    ({"type": "text", "text": "x", "feedback": "rocchio"}, "feedback is an object"),
    ({"type": "text", "text": 7}, "text must be text, not int"),
    ({"type": "item", "item": 7}, "item must be text, not int"),
    ({"type": "image", "image_path": 7}, "image_path must be text, not int"),
    ({"type": "condition", "reference": "img-1", "condition": 3}, "condition must be text, not int"),
])
def test_spec_types_are_refused_not_coerced(spec, message):
    from indexing.query.specs import QueryError, from_json

    with pytest.raises(QueryError, match=re.escape(message)):
        from_json(spec)


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
                    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
                    max_leaves=12),
       st.sampled_from(["text", "image", "item", "compose", "condition"]))
def test_any_json_a_spec_can_hold_is_a_spec_or_a_query_error(value, kind):
    from indexing.query.specs import QueryError, from_json

    for field in ("text", "item", "image_path", "reference", "reference_image", "lam", "methods", "k", "kind",
                  "filters", "feedback", "condition", "vocabulary"):
        try:
            from_json({"type": kind, "text": "x", "item": "i", "reference": "img-1", "condition": "color",
                       field: value})
        except QueryError:
            pass


def test_qrels_grades_past_nine_digits_and_cli_counts_below_one_are_refused(tmp_path):
    from indexing.labels.trec import parse_grade

    with pytest.raises(ValueError):
        parse_grade("1" + "0" * 23)
    assert parse_grade("000000000003") == 3
    env = tiny_env(tmp_path / "data")
    for args in (["evaluate", "--limit", "-1"], ["demo", "--n", "0"]):
        run = subprocess.run([sys.executable, "-m", "indexing", *args], env=env, cwd=REPO, capture_output=True,
                             text=True, timeout=60)
        assert run.returncode == 2 and "must be at least 1" in run.stderr


def test_spec_from_a_file(tmp_path):
    spec = tmp_path / "q.json"
    spec.write_text('{"type": "text", "text": "a red thing", "k": 2}')
    env = tiny_env(tmp_path / "data")
    (tmp_path / "t.txt").write_text("a red thing\na blue thing\n")
    subprocess.run([sys.executable, "-m", "indexing", "ingest", str(tmp_path / "t.txt")], env=env, cwd=REPO,
                   check=True, capture_output=True, timeout=120)
    run = subprocess.run([sys.executable, "-m", "indexing", "search", "--spec", str(spec), "--json"], env=env,
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["clip"][0]["text"] == "a red thing"


@pytest.mark.parametrize("reader", ["cirr", "fashioniq", "genecis"])
def test_benchmark_image_ids_that_climb_out_are_refused(tmp_path, reader):
    from indexing.evaluation.published import BenchmarkDataError
    from indexing.evaluation import cirr, fashioniq, genecis

    (tmp_path / "outside.png").write_bytes(REAL["PNG"])
    root = tmp_path / "bench"
    root.mkdir()
    with pytest.raises(BenchmarkDataError, match="is not under .*refused"):
        if reader == "cirr":
            from indexing.evaluation.published import image_under
            image_under(root, "../outside.png", cirr.LAYOUT)
        elif reader == "fashioniq":
            fashioniq.image_path(root, "../../outside")
        else:
            genecis.image_path(root, ("vg", "../../outside"))


def corrupt_adapters():
    """Every way an adapter file was found broken: name → (npz bytes, json text)."""
    import numpy as np

    def npz(**arrays):
        out = io.BytesIO()
        np.savez(out, **arrays)
        return out.getvalue()

    a, b = np.zeros((2, 32), np.float32), np.zeros((32, 2), np.float32)
    return {
        "truncated": (npz(a=a, b=b)[:40], "{}"),
        "notzip": (b"not a zip at all", "{}"),
        "shape": (npz(a=a, b=a), "{}"),
        "dims": (npz(a=np.zeros((2, 8), np.float32), b=np.zeros((8, 2), np.float32)), "{}"),
        "nan": (npz(a=a + np.nan, b=b), "{}"),
        "huge": (npz(a=a + 1e30, b=b), "{}"),
        "members": (npz(x=a), "{}"),
        "listmeta": (npz(a=a, b=b), "[1, 2]"),
        "badjson": (npz(a=a, b=b), '{"judgments": '),
        "wrongtypes": (npz(a=a, b=b), '{"judgments": "many", "queries": null, "rank": "x"}'),
    }


def test_corrupt_adapter_files_are_one_line_each_and_can_be_dropped(lab):
    from indexing.query import adapter as adapters
    from indexing.core.errors import SimLabError
    from indexing.query.specs import NeighboursQuery, Source

    lab.ingest(plan_uploads([("t.txt", b"a red thing\na blue thing\n")]))
    folder = lab.settings.data_dir / "adapters" / lab.store.name
    folder.mkdir(parents=True)
    cases = corrupt_adapters()
    for name, (data, meta) in cases.items():
        (folder / f"{name}.npz").write_bytes(data)
        (folder / f"{name}.json").write_text(meta)
    (folder / "bad name!.npz").write_bytes(b"x")
    (folder / "bad name!.json").write_text("{}")
    listed = adapters.saved(lab.settings.data_dir, lab.store.name)
    assert set(listed) == set(cases)  # every adapter listed (so it can be dropped); no bad file name
    assert all("\n" not in adapters.description(n, m) for n, m in listed.items())
    for name in cases:
        if name in ("listmeta", "badjson", "wrongtypes"):  # the weights are fine: only the description is broken
            assert lab.run(NeighboursQuery(Source(text="a red thing"), adapter=name)).hits()
            continue
        with pytest.raises(SimLabError) as refused:  # what every page catches and shows in one line
            lab.run(NeighboursQuery(Source(text="a red thing"), adapter=name))
        assert "train it again or drop it" in str(refused.value) and "\n" not in str(refused.value), name
    for name in cases:
        adapters.drop(lab.settings.data_dir, lab.store.name, name)
    assert adapters.saved(lab.settings.data_dir, lab.store.name) == {}


def test_legend_labels_are_cut_before_escaping_and_stay_short():
    import numpy as np

    from components.map.figure import LEGEND_CHARS, map_figure
    from indexing.store.chroma import Record

    value = "a & b " * 20 + "<tail>"
    records = [Record(f"t{i}", "text", f"n{i}", f"text {i}", {"f": value if i % 2 else "short"}) for i in range(6)]
    fig = map_figure(np.random.default_rng(0).normal(size=(6, 2)), records, [r.metadata["f"] for r in records])
    names = [t.name for t in fig.data if t.name and t.name not in ("selected",)]
    long = next(n for n in names if n.startswith("a &amp; b"))
    assert long.endswith("…") and "&am…" not in long and len(long.replace("&amp;", "&")) == LEGEND_CHARS


def test_a_qrels_import_on_a_full_disk_lists_no_queries_as_new_and_names_at_most_a_thousand(lab, monkeypatch):
    from contextlib import contextmanager

    from indexing.labels.label_store import LabelStore
    from indexing.labels.trec import import_qrels
    from tests.test_bad_input import _FullDisk

    lab.ingest(plan_uploads([("t.txt", b"one\n")]))
    item = lab.vectors()[0][0].id
    data = "".join(f"q{i} 0 {item} 1\n" for i in range(3000)).encode() + b"bad line\n" * 1500
    labels = LabelStore(lab.settings.data_dir)
    real = LabelStore._connect

    class FullDisk(_FullDisk):
        def executemany(self, sql: str, *args):
            raise sqlite3.OperationalError("database or disk is full")

    @contextmanager
    def full_disk(self):
        with real(self) as db:
            yield FullDisk(db)

    monkeypatch.setattr(LabelStore, "_connect", full_disk)
    report = import_qrels(data, labels, {item}).as_dict()
    assert report["stopped"].startswith("No queries were added") and report["new_queries"] == []
    assert report["new_query_count"] == 0 and report["imported"] == 0
    assert len(report["errors"]) == 1000 and report["error_count"] == 1500


@pytest.mark.parametrize("record", [
    {"reference": {"val_image_id": "abc"}, "condition": "x", "target": {"val_image_id": 1}, "gallery": []},
    {"reference": {"image_id": 1, "instance_bbox": [1, 2]}, "condition": "x", "target": {"val_image_id": 1},
     "gallery": []},
    {"reference": {"val_image_id": 1}, "condition": 5, "target": {"val_image_id": 1}, "gallery": []},
    {"reference": {"val_image_id": [1]}, "condition": "x", "target": {"val_image_id": 1}, "gallery": []},
])
def test_a_genecis_record_not_as_published_names_its_file_and_record(tmp_path, record):
    from indexing.evaluation.published import BenchmarkDataError
    from indexing.evaluation.genecis import read_task

    good = {"reference": {"val_image_id": 1}, "condition": "x", "target": {"val_image_id": 2}, "gallery": []}
    path = tmp_path / "focus_attribute.json"
    path.write_text(json.dumps([good, record]))
    with pytest.raises(BenchmarkDataError, match=r"^focus_attribute.json record 1"):
        read_task(path)


def _good_adapter_npz() -> bytes:
    import numpy as np

    out = io.BytesIO()
    np.savez(out, a=np.full((2, 8), 0.1, np.float32), b=np.full((8, 2), 0.1, np.float32))
    return out.getvalue()


GOOD_NPZ = _good_adapter_npz()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_any_adapter_file_bytes_load_as_an_adapter_or_an_adapter_error(tmp_path, data):
    from indexing.query import adapter as adapters

    folder = tmp_path / "adapters" / "c"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "x.npz").write_bytes(mutated(GOOD_NPZ, data.draw))
    (folder / "x.json").write_bytes(data.draw(st.binary(max_size=60) | st.just(b'{"rank": 2}')))
    try:
        loaded = adapters.load(tmp_path, "c", "x", dim=8)
    except adapters.AdapterError as exc:
        assert "\n" not in str(exc) and "drop it" in str(exc)
    else:
        assert loaded.a.shape == (2, 8)
    assert list(adapters.saved(tmp_path, "c")) == ["x"]  # always listed, so it can be dropped
