"""Bad input and bad days: a bad item fails alone with one line, the rest is stored, nothing is lost."""
import codecs
import json
from contextlib import contextmanager
import sqlite3
import subprocess
import sys

import chromadb.errors
import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexing.ingest.pipeline import Ingestor
from indexing.labels.label_store import LabelStore
from indexing.ingest.metadata import clean_metadata
from indexing.query.specs import NeighboursQuery, Source
from indexing.ingest.sources import plan_bytes, plan_uploads
from indexing.store.chroma import Record
from indexing.ingest.texts import MAX_TEXT_CHARS
from indexing.labels.trec import import_qrels, parse_grade
from tests.conftest import REPO, tiny_env


def cli(env, *args):
    return subprocess.run([sys.executable, "-m", "indexing", *args], env=env, cwd=REPO, capture_output=True, text=True)


def test_a_cell_past_pythons_csv_limit_is_cut_and_the_other_files_go_on(tmp_path):
    (tmp_path / "b.csv").write_text('text\n"' + "x" * 140_000 + '"\nshort row\n')
    (tmp_path / "ok.txt").write_text("a fine line\n")
    run = cli(tiny_env(tmp_path / "data"), "ingest", str(tmp_path / "b.csv"), str(tmp_path / "ok.txt"))
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["added"] == 3 and summary["failed"] == 0
    assert any(f"cut to {MAX_TEXT_CHARS:,}" in n["note"] and n["source"].endswith("b.csv:2") for n in summary["notes"])


def test_metadata_keys_chroma_refuses_are_renamed_with_a_note(tmp_path):
    (tmp_path / "h.csv").write_text("#,text,chroma:document\n1,hello,doc\n")
    (tmp_path / "k.jsonl").write_text(json.dumps({"text": "jsonl line", "": "e", "#x": 1, "$y": "z"}) + "\n")
    env = tiny_env(tmp_path / "data")
    run = cli(env, "ingest", str(tmp_path / "h.csv"), str(tmp_path / "k.jsonl"))
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["added"] == 2 and len(summary["notes"]) == 5
    found = json.loads(cli(env, "search", "--text", "hello", "--json").stdout)
    meta = next(h["metadata"] for h in found if h["text"] == "hello")
    assert meta == {"field_#": "1", "field_chroma:document": "doc"}


def test_one_items_refused_metadata_never_fails_its_batch(lab):
    records = [Record(f"txt-{i}", "text", "n", f"text {i}", {"ok": "1"}) for i in range(5)]
    records[2].metadata = {"$bad": "v"}  # past the boundary on purpose: the store still fails it alone
    refused = lab.store.upsert(records, np.eye(5, lab.encoder.dim, dtype=np.float32))
    assert [r.id for r, _ in refused] == ["txt-2"] and lab.store.count() == 4


def test_clean_metadata_rules():
    clean, notes = clean_metadata({"": "a", "#": "b", "$c": "c", "simlab_kind": "d", "fine": 3, "none": None})
    assert clean == {"field_": "a", "field_#": "b", "field_$c": "c", "field_simlab_kind": "d", "fine": "3"}
    assert len(notes) == 4


@pytest.mark.parametrize("error, cause", [
    (httpx.ConnectError("[Errno 111] Connection refused"), "the Chroma server stopped answering"),
    (chromadb.errors.InternalError("Error in compaction: database or disk is full"), "no space left"),
])
def test_a_store_that_stops_mid_ingest_says_how_much_was_stored_and_a_rerun_completes(lab, monkeypatch, error,
                                                                                       cause):
    lines = "\n".join(f"line number {i}" for i in range(20)).encode()
    real = type(lab.store)._write
    calls = {"n": 0}

    def failing(self, records, vectors):
        calls["n"] += 1
        if calls["n"] > 1:
            raise error
        return real(self, records, vectors)

    monkeypatch.setattr(type(lab.store), "_write", failing)
    ingest = Ingestor(lab.encoder, lab.store, lab.blobs, batch_size=8).run  # three batches: the second fails
    summary = ingest(plan_uploads([("many.txt", lines)]))
    assert cause in summary.stopped and f"{summary.added} new items were stored" in summary.stopped
    assert "run the same ingest again" in summary.stopped and summary.added == lab.store.count() < 20
    monkeypatch.setattr(type(lab.store), "_write", real)
    again = ingest(plan_uploads([("many.txt", lines)]))
    assert not again.stopped and lab.store.count() == 20 and again.skipped == summary.added


def test_text_details():
    utf16 = codecs.BOM_UTF16_LE + "première ligne\nzweite Zeile\n".encode("utf-16-le")
    assert [i.text for i in plan_bytes("notes.txt", utf16).items] == ["première ligne", "zweite Zeile"]
    empty = plan_bytes("empty.jsonl", b"\n\n")
    assert not empty.items and empty.notes[0].source == "empty.jsonl"  # named in the summary
    with pytest.raises(ValueError):
        parse_grade("３")  # a full-width digit is not a grade
    assert parse_grade("2") == 2 and parse_grade("-1") == -1


def test_bulk_qrels_import_is_batched_with_progress(tmp_path):
    labels = LabelStore(tmp_path)
    lines = "".join(f"q{i % 50} 0 d{i} {i % 4}\n" for i in range(12_000)) + "q1 0 d1 ３\n"
    seen = []
    report = import_qrels(lines.encode(), labels, None, progress=lambda done, total: seen.append((done, total)))
    assert report.imported == 12_000 and len(report.new_queries) == 50 and len(report.errors) == 1
    assert seen[-1] == (12_000, 12_000) and len(seen) == 3  # three transactions of at most 5,000
    assert len(labels.judgments()) == 12_000


def test_url_values_longer_than_a_link_can_carry_stay_out_of_it():
    from streamlit.testing.v1 import AppTest

    script = ("import streamlit as st\nfrom components.url_state import save_to_url\n"
              "st.session_state['q'] = 'x' * 64_000\nst.session_state['k'] = '5'\nsave_to_url(['q', 'k'])\n")
    at = AppTest.from_string(script).run()
    assert not at.exception and "q" not in at.query_params and at.query_params["k"] in ("5", ["5"])


keys = st.text(min_size=0, max_size=12)
cells = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.dictionaries(keys, cells, min_size=1, max_size=5), min_size=1, max_size=8),
       texts=st.lists(cells, min_size=1, max_size=8))
def test_generated_jsonl_rows_never_raise_and_every_valid_item_is_planned_with_clean_metadata(rows, texts):
    lines = [json.dumps({**row, "text": text}) for row, text in zip(rows, texts)]
    plan = plan_bytes("gen.jsonl", "\n".join(lines).encode())
    valid = [t.strip() for t in texts[:len(rows)] if t.strip()]
    assert [i.text for i in plan.items] == [t[:MAX_TEXT_CHARS].strip() if len(t) > MAX_TEXT_CHARS else t
                                            for t in valid]
    for item in plan.items:
        assert all(k and k[0] not in "#$" and k != "chroma:document" for k in item.metadata)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.lists(keys, min_size=1, max_size=4), values=st.lists(st.lists(cells, min_size=1, max_size=5),
                                                                         min_size=1, max_size=6))
def test_generated_csv_goes_into_the_store_whole(lab, header, values):
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["text"] + header)
    for row in values:
        writer.writerow(row)
    plan = plan_bytes("gen.csv", out.getvalue().encode())
    summary = lab.ingest(plan)
    assert summary.failed == len(plan.failures) and not summary.stopped  # nothing fails at the store
    stored = {r.text for r in lab.vectors()[0]}
    assert {i.text for i in plan.items} <= stored



class _FullDisk:
    """A label database connection on a full disk: reads work, writes raise what sqlite3 raises there."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def execute(self, sql: str, *args):
        if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            raise sqlite3.OperationalError("database or disk is full")
        return self.db.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self.db, name)


def test_pages_report_faults_in_one_line(lab, monkeypatch):
    """A full disk while judging and a server gone during a page ingest: one line each, no exception box."""
    from streamlit.testing.v1 import AppTest

    from components.ingest_board import ingest_jobs

    lab.ingest(plan_uploads([("a.txt", b"one\ntwo\nthree\n")]))
    LabelStore(lab.settings.data_dir).save_query("q", NeighboursQuery(Source(text="one")), qid="q-1")
    at = AppTest.from_file(str(REPO / "pages" / "6_Label.py"), default_timeout=120).run()
    at.text_input(key="label-annotator").input("ann").run()
    real_connect = LabelStore._connect

    @contextmanager
    def full_disk(self):
        with real_connect(self) as db:
            yield _FullDisk(db)

    monkeypatch.setattr(LabelStore, "_connect", full_disk)
    at.button(key="grade-3").click().run()
    assert not at.exception and "no space left" in at.error[0].value
    monkeypatch.undo()

    def gone(self, records, vectors):
        raise httpx.ConnectError("[Errno 111] Connection refused")

    monkeypatch.setattr(type(lab.store), "_write", gone)
    ingest = AppTest.from_file(str(REPO / "pages" / "1_Ingest.py"), default_timeout=120).run()
    ingest.number_input(key="demo_n").set_value(5).run()
    ingest.button(key="demo_button").click().run()
    ingest_jobs().wait(120)
    ingest.run()
    assert not ingest.exception and "the Chroma server stopped answering" in ingest.error[0].value


def test_a_huge_text_item_shows_an_excerpt_and_the_rest_on_request(tmp_path):
    from streamlit.testing.v1 import AppTest

    script = (f"from components.cards import item_card\nfrom indexing.store.blobs import Blobs\n"
              f"from indexing.store.chroma import Record\n"
              f"item_card(Record('txt-1', 'text', 'big.txt', 'word ' * 1_000_000), Blobs({str(tmp_path)!r}))\n")
    at = AppTest.from_string(script).run()
    assert not at.exception and len(at.text[0].value) < 1000  # not 5 MB of page
    at.toggle[0].set_value(True).run()
    assert len(at.text[0].value) >= 4_999_000  # the whole text, once asked for


def test_the_cli_names_a_full_disk_for_reads_too(env, monkeypatch, capsys):
    from indexing import cli
    from indexing.lab import Lab

    def full(self):
        raise chromadb.errors.InternalError("Error in compaction: database or disk is full")

    monkeypatch.setattr(Lab, "stats", full)
    assert cli.main(["stats", "--json"]) == 2
    assert capsys.readouterr().err.strip() == ("error: no space left on the disk that holds the data directory "
                                               "(free some space).")
