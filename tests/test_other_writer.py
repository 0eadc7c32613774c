"""Another process writes to the embedded store while the app has it open (the CLI during a demo)."""
import subprocess
import sys

import pytest
from streamlit.testing.v1 import AppTest

from indexing.shapes.demo import demo_plan
from indexing.labels.label_store import LabelStore
from indexing.lab import open_lab
from indexing.query.specs import NeighboursQuery, Source
from indexing.core.settings import load_settings
from tests.conftest import REPO

PAGES = ["../app.py", "2_Neighbours.py", "3_Map.py", "4_Compose.py", "5_Condition.py", "6_Label.py"]


def cli_demo(env: dict, n: int, seed: int) -> None:
    subprocess.run([sys.executable, "-m", "indexing", "demo", "--n", str(n), "--seed", str(seed)], env=env,
                   cwd=REPO, check=True, capture_output=True)


def test_a_lab_sees_another_processes_items(env, tiny_encoder):
    lab = open_lab(load_settings(), encoder=tiny_encoder)
    lab.ingest(demo_plan(12, seed=1))
    before, _ = lab.vectors()
    cli_demo(env, 12, 8)
    records, vectors = lab.vectors()  # raised "Error finding id" through the stale embedded client
    assert len(records) > len(before) and len(vectors) == len(records) == lab.store.count()
    new = next(r for r in records if r.id not in {b.id for b in before})
    hits = lab.store.query(vectors[[r.id for r in records].index(new.id)], 1)
    assert hits[0].id == new.id  # the other process's items are found by search too, not only counted


@pytest.mark.slow
def test_every_page_after_a_cli_ingest_shows_the_new_items_without_a_traceback(env, tiny_encoder):
    lab = open_lab(load_settings(), encoder=tiny_encoder)
    lab.ingest(demo_plan(16, seed=1))
    LabelStore(lab.settings.data_dir).save_query("red", NeighboursQuery(Source(text="a red circle")), qid="q-red")
    apps = {page: AppTest.from_file(str(REPO / "pages" / page), default_timeout=300) for page in PAGES}
    for page, at in apps.items():
        at.run()
        if page in ("4_Compose.py", "5_Condition.py"):
            at.text_input(key=page[2:].split(".")[0].lower() + "-text").input("blue").run()
        if page == "2_Neighbours.py":
            at.text_input(key="query_text").input("a red circle").run()
        assert not at.exception, page
    count = lab.store.count()
    cli_demo(env, 16, 8)
    for page, at in apps.items():
        at.run()
        assert not at.exception, (page, [e.value for e in at.exception])
    home = apps["../app.py"]
    assert int({m.label: m.value for m in home.metric}["Items"]) > count


def test_a_writer_killed_part_way_leaves_readers_reopening_until_the_next_write(lab):
    from indexing.store.generation import bump_generation

    lab.ingest(demo_plan(4, seed=2))
    assert lab.sync() is False  # its own write: nothing to reopen
    bump_generation(lab.settings.data_dir, writing=True)  # another process started writing, then was killed
    assert lab.sync() is True and lab.sync() is True  # never taken as up to date
    bump_generation(lab.settings.data_dir)  # the next complete write
    assert lab.sync() is True and lab.sync() is False


def test_user_text_in_messages_stays_text():
    from components.safe_text import md_escape

    assert md_escape("[Sign in](https://evil.example) *x* <img src=x>") == \
        r"\[Sign in\]\(https\://evil\.example\) \*x\* \<img src=x\>"
