"""Compose and Condition pages: methods side by side, reference excluded, messages on bad input."""
import pytest
from streamlit.testing.v1 import AppTest

from indexing.shapes.demo import demo_plan
from indexing.lab import open_lab
from indexing.core.settings import load_settings
from tests.conftest import REPO

COMPOSE = str(REPO / "pages" / "4_Compose.py")
CONDITION = str(REPO / "pages" / "5_Condition.py")


@pytest.fixture
def demo(env, tiny_encoder):
    lab = open_lab(load_settings(), encoder=tiny_encoder)
    lab.ingest(demo_plan(24, seed=9))
    return lab


def card_buttons(at) -> list[str]:
    return [b.key for b in at.button if b.key]


def test_compose_shows_every_method_and_never_the_reference(demo):
    at = AppTest.from_file(COMPOSE, default_timeout=300).run()
    assert not at.exception
    reference = at.session_state["compose-ref-item"]
    assert at.get("image")  # the reference is shown as a picture
    at.text_input(key="compose-text").input("make it blue").run()
    assert not at.exception
    headers = [m.value for m in at.markdown if m.value.startswith("**")]
    assert headers == ["**image only**", "**text only**", "**weighted sum**", "**slerp**", "**score product**",
                       "**clause split**"]
    shown = [c.value for c in at.caption if c.value.startswith("rank elsewhere")]
    assert len(shown) == 6 * 6
    assert reference not in " ".join(t.value for t in at.text)  # ids are not shown; names are
    names = [t.value for t in at.text]
    ref_name = next(r.name for r in demo.vectors()[0] if r.id == reference)
    assert ref_name not in names


def test_compose_map_overlay(demo):
    at = AppTest.from_file(COMPOSE, default_timeout=300).run()
    at.text_input(key="compose-text").input("the same but a star").run()
    at.toggle(key="compose-map").set_value(True).run()
    assert not at.exception and len(at.get("plotly_chart")) == 1


def test_condition_focus_and_change(demo):
    at = AppTest.from_file(CONDITION, default_timeout=300).run()
    at.text_input(key="condition-text").input("color").run()
    assert not at.exception
    assert "focus on color" in " ".join(c.value for c in at.caption)
    assert [m.value for m in at.markdown if m.value.startswith("**")] == [
        "**image only**", "**image + condition text**", "**text-basis projection**"]
    moved = at.dataframe[0].value
    assert list(moved.columns) == ["item", "rank", "plain rank", "moved"]
    assert (moved["moved"] == moved["plain rank"] - moved["rank"]).all()
    at.text_input(key="condition-text").input("blue").run()
    assert "change color to 'blue'" in " ".join(c.value for c in at.caption)
    at.toggle(key="condition-map").set_value(True).run()
    assert not at.exception and len(at.get("plotly_chart")) == 1


def test_empty_index_messages(env):
    for page in (COMPOSE, CONDITION):
        at = AppTest.from_file(page, default_timeout=300).run()
        assert not at.exception and "No images in the index" in at.info[0].value


def test_what_a_page_saves_is_the_query_it_showed(demo):
    """Compose's page defaults are the spec's defaults; a saved Condition keeps the edited vocabulary."""
    from indexing.labels.label_store import LabelStore
    from indexing.query.specs import ComposeQuery, ConditionQuery, Source

    labels = LabelStore(demo.settings.data_dir)
    at = AppTest.from_file(COMPOSE, default_timeout=300).run()
    at.text_input(key="compose-text").input("make it blue").run()
    at.button(key="save-compose-save").click().run()
    assert not at.exception
    reference = Source(item=at.session_state["compose-ref-item"])
    (saved,) = labels.queries()
    assert saved.spec == ComposeQuery(reference, "make it blue")  # λ, methods and k as the page showed them
    shown = [t.value for t in at.text if t.value.startswith("shapes-")]
    rerun = [h.name for m in saved.spec.methods for h in demo.run(saved.spec).hits(m)]
    assert shown == rerun and len(shown) == 6 * 6

    at = AppTest.from_file(CONDITION, default_timeout=300).run()
    at.text_area(key="condition-vocab").input("color: red, blue\nshape: circle, star").run()
    at.text_input(key="condition-text").input("color").run()
    at.button(key="save-condition-save").click().run()
    assert not at.exception
    spec = next(q.spec for q in labels.queries() if isinstance(q.spec, ConditionQuery))
    assert spec.vocabulary == {"color": ["red", "blue"], "shape": ["circle", "star"]}


@pytest.mark.parametrize("page, key, text_key, text", [(COMPOSE, "compose-ref", "compose-text", "make it blue"),
                                                         (CONDITION, "condition-ref", "condition-text", "color")])
def test_an_uploaded_reference_already_indexed_is_left_out_of_its_results(demo, page, key, text_key, text):
    """Ids are content hashes: the uploaded bytes name a stored item, which is excluded as a picked one is."""
    stored = next(r for r in demo.vectors()[0] if r.kind == "image")
    at = AppTest.from_file(page, default_timeout=300).run()
    at.radio(key=f"{key}-source").set_value("Upload").run()
    at.file_uploader(key=f"{key}-upload").set_value(
        [(stored.name, demo.blobs.original_path(stored.id).read_bytes(), "image/png")]).run()
    at.text_input(key=text_key).input(text).run()
    assert not at.exception
    ids = [c.value for c in at.code]  # every result card shows its id
    assert len(ids) >= 6 and stored.id not in ids
    notes = [c.value.replace("\\", "") for c in at.caption]  # escaped Markdown: user text stays text
    assert any(stored.id in n and "left out of its own results" in n for n in notes)
