"""The "Why?" control on image cards (one component on every page) and the Model check page."""
import pytest
from streamlit.testing.v1 import AppTest

from indexing.shapes.demo import demo_plan
from indexing.lab import open_lab
from indexing.core.settings import load_settings
from tests.conftest import REPO

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def demo(env, tiny_encoder):
    lab = open_lab(load_settings(), encoder=tiny_encoder)
    lab.ingest(demo_plan(24, seed=9, pair_share=0.25))
    return lab


def why_toggles(at, prefix: str) -> list[str]:
    return [t.key for t in at.toggle if t.key and t.key.startswith(prefix) and "-why-" in t.key]


def heat_captions(at) -> list[str]:
    return [c.value for c in at.caption if c.value.startswith(r"Yellow\: matches")]  # Markdown-escaped


def test_neighbours_why_draws_a_heatmap_for_that_card_only(demo):
    at = AppTest.from_file(str(REPO / "pages/2_Neighbours.py"), default_timeout=300).run()
    at.text_input(key="query_text").input(XSS).run()
    toggles = why_toggles(at, "hit-why-")
    images_before = len(at.get("imgs"))
    assert toggles and not heat_captions(at)  # image results only, and nothing computed until asked
    at.toggle(key=toggles[0]).set_value(True).run()
    assert not at.exception
    [caption] = heat_captions(at)
    assert r"\<img src=x onerror=alert\(1\)\>" in caption  # the query's words, never HTML
    assert r"dense features \(MaskCLIP\)" in caption and len(at.get("imgs")) == images_before  # replaced, not added
    at.selectbox(key="why-method").set_value("occlusion").run()
    assert not at.exception and heat_captions(at)[0].endswith(r"occlusion\.")


def test_compose_and_condition_cards_explain_against_their_own_target(demo):
    at = AppTest.from_file(str(REPO / "pages/4_Compose.py"), default_timeout=300).run()
    at.text_input(key="compose-text").input("make it blue").run()
    at.toggle(key=why_toggles(at, "compose-")[0]).set_value(True).run()
    assert not at.exception and "the modification “make it blue”" in heat_captions(at)[0]
    at = AppTest.from_file(str(REPO / "pages/5_Condition.py"), default_timeout=300).run()
    at.text_input(key="condition-text").input("the car").run()
    at.toggle(key=why_toggles(at, "condition-")[0]).set_value(True).run()
    assert not at.exception and "the condition “the car”" in heat_captions(at)[0]


def test_model_check_shows_each_probe_with_its_chance(demo):
    at = AppTest.from_file(str(REPO / "pages/7_Model_check.py"), default_timeout=300).run()
    at.select_slider(key="probe-n").set_value(50).run()
    assert not at.exception
    world_table, collection_table = (d.value for d in at.dataframe)
    assert list(world_table.columns) == ["probe", "accuracy", "chance", "n"] and len(world_table) == 9
    assert set(world_table["n"]) == {50}
    assert at.selectbox(key="probe-field").value == "caption"
    assert list(collection_table["n"]) == [6, 6]  # the demo's six two-object scenes


def test_model_check_says_when_the_collection_has_no_captions(env, tiny_encoder):
    open_lab(load_settings(), encoder=tiny_encoder).ingest(demo_plan(6, seed=2))
    at = AppTest.from_file(str(REPO / "pages/7_Model_check.py"), default_timeout=300).run()
    at.select_slider(key="probe-n").set_value(50).run()
    assert not at.exception and "No image item carries a caption" in at.info[0].value


def test_a_heatmap_is_computed_once_per_card_not_per_rerun(demo, monkeypatch):
    import indexing.lab

    calls = []
    real = indexing.lab.heatmap
    monkeypatch.setattr(indexing.lab, "heatmap", lambda *a, **k: calls.append(1) or real(*a, **k))
    at = AppTest.from_file(str(REPO / "pages/2_Neighbours.py"), default_timeout=300).run()
    at.text_input(key="query_text").input("a red circle").run()
    first, second = why_toggles(at, "hit-why-")[:2]
    at.toggle(key=first).set_value(True).run()
    at.run()  # any rerun: the cached heatmap is drawn again, not computed
    assert len(calls) == 1
    at.toggle(key=second).set_value(True).run()
    assert len(calls) == 2 and len(heat_captions(at)) == 2


def test_map_selection_and_label_cards_have_why(demo):
    from tests.test_app_map import select_points

    at = AppTest.from_file(str(REPO / "pages/3_Map.py"), default_timeout=300).run()
    at = select_points(at, [0, 1, 2])
    at.toggle(key=why_toggles(at, "map-sel-")[0]).set_value(True).run()
    assert not at.exception and "what the selected items share" in heat_captions(at)[0]

    from indexing.labels.label_store import LabelStore
    from indexing.query.specs import NeighboursQuery, Source

    LabelStore(demo.settings.data_dir).save_query("red", NeighboursQuery(Source(text="a red circle"), kind="image"))
    at = AppTest.from_file(str(REPO / "pages/6_Label.py"), default_timeout=300).run()
    at.text_input(key="label-annotator").input("ann").run()
    at.toggle(key=why_toggles(at, "label-")[0]).set_value(True).run()
    assert not at.exception and "“a red circle”" in heat_captions(at)[0]
