"""Ingest page: upload files, see the summary; duplicates and failures are reported, never HTML."""
from streamlit.testing.v1 import AppTest

from indexing.lab import open_lab
from indexing.settings import load_settings
from tests.conftest import REPO, image_bytes

XSS = "<img src=x onerror=alert(1)>"


def test_upload_ingest_summary_and_duplicates(env, tiny_encoder):
    at = AppTest.from_file(str(REPO / "pages/1_Ingest.py"), default_timeout=120).run()
    assert not at.exception
    files = [("red.png", image_bytes((255, 0, 0)), "image/png"),
             ("notes.txt", b"hello\n\nworld\n", "text/plain"),
             (f"{XSS}.png", b"<html>not an image</html>", "image/png")]
    at.file_uploader[0].set_value(files).run()
    at.button(key="ingest_button").click().run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Added"] == "3" and metrics["Failed"] == "1" and metrics["Blank lines"] == "1"
    errors = at.dataframe[0].value
    assert errors["source"].tolist() == [f"{XSS}.png"] and "not a supported image" in errors["reason"][0]
    assert not any(XSS in m.value for m in at.markdown)  # file names never go through Markdown

    at.file_uploader[0].set_value(files[:2]).run()
    at.button(key="ingest_button").click().run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Added"] == "0" and metrics["Skipped (duplicates)"] == "3"
    assert open_lab(load_settings(), encoder=tiny_encoder).store.count() == 3


def test_demo_world_button(env, tiny_encoder):
    at = AppTest.from_file(str(REPO / "pages/1_Ingest.py"), default_timeout=120).run()
    at.number_input(key="demo_n").set_value(12).run()
    at.button(key="demo_button").click().run()
    assert not at.exception
    store = open_lab(load_settings(), encoder=tiny_encoder).store
    assert store.count_kind("image") == 12 and store.metadata_values()["shape"]
