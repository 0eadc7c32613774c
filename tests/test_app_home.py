"""Home page: counts, model, dimension, store and settings are shown."""
from streamlit.testing.v1 import AppTest

from indexing.lab import open_lab
from indexing.core.settings import load_settings
from indexing.ingest.sources import plan_uploads
from tests.conftest import REPO, image_bytes


def test_home_shows_counts_and_settings(env, tiny_encoder):
    open_lab(load_settings(), encoder=tiny_encoder).ingest(
        plan_uploads([("a.png", image_bytes()), ("t.txt", b"one\ntwo\n")]))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Items": "3", "Images": "1", "Texts": "2", "Vector dimension": "32"}
    shown = at.dataframe[0].value.to_string() + at.dataframe[1].value.to_string()
    assert "tiny-clip (random init)" in shown and env["SIMLAB_DATA"] in shown and "SIMLAB_MODEL" in shown
    assert at.selectbox(key="model_widget").value == env["SIMLAB_MODEL"]


def test_unloadable_model_is_a_message_not_a_traceback(env, monkeypatch):
    monkeypatch.setenv("SIMLAB_MODEL", "No-Such-Model")
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert "Unknown model" in at.error[0].value


def test_a_model_that_cannot_load_here_keeps_the_page_on_the_active_one(env, tiny_encoder):
    open_lab(load_settings(), encoder=tiny_encoder).ingest(plan_uploads([("a.png", image_bytes())]))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    at.selectbox(key="model_widget").set_value("ViT-B-32").run()  # offline here: its weights cannot be had
    assert not at.exception and not at.error
    warning = at.warning[0].value.replace("\\", "")  # shown as escaped Markdown: user text stays text
    assert "cannot be used here, so SimLab stays on" in warning and "simlab-shapes" in warning
    assert at.selectbox(key="model_widget").value == env["SIMLAB_MODEL"]  # the picker shows what is in force
    assert {m.label: m.value for m in at.metric}["Items"] == "1"  # the page kept working
    settings = " ".join(at.dataframe[1].value.iloc[:, 0])
    assert "SIMLAB_BATCH" in settings  # every setting the README lists
