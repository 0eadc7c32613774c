"""Ingest page: upload files, see the summary; duplicates and failures are reported, never HTML."""
from streamlit.testing.v1 import AppTest

from components.ingest_board import ingest_jobs

from indexing.lab import open_lab
from indexing.core.settings import load_settings
from tests.conftest import REPO, image_bytes

XSS = "<img src=x onerror=alert(1)>"


def finish(at: AppTest) -> AppTest:  # the newest ingest's figures are the first five metrics
    """Ingests run in a server thread: wait for them, then draw the page again."""
    ingest_jobs().wait(120)
    return at.run()


def test_upload_ingest_summary_and_duplicates(env, tiny_encoder):
    at = AppTest.from_file(str(REPO / "pages/1_Ingest.py"), default_timeout=120).run()
    assert not at.exception
    files = [("red.png", image_bytes((255, 0, 0)), "image/png"),
             ("notes.txt", b"hello\n\nworld\n", "text/plain"),
             (f"{XSS}.png", b"<html>not an image</html>", "image/png")]
    at.file_uploader[0].set_value(files).run()
    at.button(key="ingest_button").click().run()
    finish(at)
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric[:6]}
    assert metrics["Added"] == "3" and metrics["Failed"] == "1" and metrics["Blank lines"] == "1"
    errors = at.dataframe[0].value
    assert errors["source"].tolist() == [f"{XSS}.png"] and "not a supported image" in errors["reason"][0]
    assert not any(XSS in m.value for m in at.markdown)  # file names never go through Markdown
    assert any(e.label == "Added: 3" for e in at.expander)  # what was added is listed, like what was skipped
    assert sorted(at.dataframe[1].value["source"]) == ["notes.txt:1", "notes.txt:3", "red.png"]

    at.file_uploader[0].set_value(files[:2]).run()
    at.button(key="ingest_button").click().run()
    finish(at)
    metrics = {m.label: m.value for m in at.metric[:6]}
    assert metrics["Added"] == "0" and metrics["Already stored"] == "3"
    assert open_lab(load_settings(), encoder=tiny_encoder).store.count() == 3


def test_demo_world_button(env, tiny_encoder):
    at = AppTest.from_file(str(REPO / "pages/1_Ingest.py"), default_timeout=120).run()
    at.number_input(key="demo_n").set_value(200).run()
    at.button(key="demo_button").click().run()
    finish(at)
    assert not at.exception
    store = open_lab(load_settings(), encoder=tiny_encoder).store
    assert store.count_kind("image") == 200 and store.metadata_values()["shape"]
    metrics = {m.label: m.value for m in at.metric[:6]}
    assert metrics["Already stored"] == "0" and int(metrics["Repeated in batch"]) > 0  # into an empty store
    assert any("captions the generated demo world repeats" in c.value for c in at.caption)


def test_the_same_file_twice_in_one_upload_is_a_repeat_not_a_stored_duplicate(env, tiny_encoder):
    at = AppTest.from_file(str(REPO / "pages/1_Ingest.py"), default_timeout=120).run()
    red = image_bytes((255, 0, 0))
    at.file_uploader[0].set_value([("a.png", red, "image/png"), ("copy of a.png", red, "image/png")]).run()
    at.button(key="ingest_button").click().run()
    finish(at)
    metrics = {m.label: m.value for m in at.metric[:6]}
    assert (metrics["Added"], metrics["Already stored"], metrics["Repeated in batch"]) == ("1", "0", "1")
    assert any("the same content twice in this batch" in c.value for c in at.caption)


def test_an_ingest_outlives_the_session_that_started_it_and_others_see_it(env, tiny_encoder):
    started = AppTest.from_file(str(REPO / "pages/1_Ingest.py"), default_timeout=120).run()
    started.number_input(key="demo_n").set_value(40).run()
    started.button(key="demo_button").click().run()
    del started  # the tab is gone; the job is the server's
    other = AppTest.from_file(str(REPO / "pages/1_Ingest.py"), default_timeout=120).run()
    assert not other.exception
    if ingest_jobs().jobs()[0].running:  # a newcomer sees it running, with its progress
        assert any(s.value == "Running" for s in other.subheader)
    finish(other)
    assert "demo world, 40 images" == ingest_jobs().jobs()[0].label and not ingest_jobs().jobs()[0].running
    assert {m.label: m.value for m in other.metric[:6]}["Added"] != "0"
    assert open_lab(load_settings(), encoder=tiny_encoder).store.count_kind("image") == 40
