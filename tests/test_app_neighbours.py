"""Neighbours page: text, item and filtered queries; "Neighbours of this" makes a result the query."""
import time

import pytest
from streamlit.testing.v1 import AppTest

from indexing.lab import open_lab
from indexing.query.specs import NeighboursQuery, Source
from indexing.core.settings import load_settings
from indexing.ingest.sources import plan_uploads
from tests.conftest import REPO, image_bytes

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def filled(env, tiny_encoder):
    lab = open_lab(load_settings(), encoder=tiny_encoder)
    lab.ingest(plan_uploads([("red.png", image_bytes((255, 0, 0))), ("blue.png", image_bytes((0, 0, 255))),
                             ("t.csv", f"text,colour\na red thing,red\n{XSS},blue\n".encode())]))
    return lab


def shown_texts(at) -> list[str]:
    return [t.value for t in at.text]


def test_empty_index_says_what_to_do(env):
    at = AppTest.from_file(str(REPO / "pages/2_Neighbours.py"), default_timeout=120).run()
    assert not at.exception and "index is empty" in at.info[0].value


def test_text_query_then_neighbours_of_a_result(filled):
    at = AppTest.from_file(str(REPO / "pages/2_Neighbours.py"), default_timeout=120).run()
    at.text_input(key="query_text").input("a red thing").run()
    assert not at.exception
    assert shown_texts(at)[0] == "a red thing"
    assert XSS in shown_texts(at) and not any(XSS in m.value for m in at.markdown)  # plain text only
    red = filled.run(NeighboursQuery(Source(text="a red thing"), k=1)).hits()[0]
    at.button(key=f"hit-{red.id}").click().run()
    assert not at.exception
    assert at.session_state["query_mode"] == "Item" and at.session_state["query_item"] == red.id
    hit_ids = [b.key.removeprefix("hit-") for b in at.button if b.key and b.key.startswith("hit-")]
    assert red.id not in hit_ids and len(hit_ids) == 3


def test_kind_and_metadata_filter(filled):
    at = AppTest.from_file(str(REPO / "pages/2_Neighbours.py"), default_timeout=120).run()
    at.text_input(key="query_text").input("thing").run()
    at.selectbox(key="kind_filter").set_value("text").run()
    at.selectbox(key="meta_field").set_value("colour").run()
    at.selectbox(key="meta_values").set_value("red").run()
    assert not at.exception
    assert "a red thing" in shown_texts(at) and XSS not in shown_texts(at)


def test_an_item_by_the_file_name_its_card_shows_and_every_card_shows_its_id(filled):
    at = AppTest.from_file(str(REPO / "pages/2_Neighbours.py"), default_timeout=120).run()
    at.text_input(key="query_text").input("a red thing").run()
    ids = {r.id for r in filled.vectors()[0]}
    assert {c.value for c in at.code} == ids  # 4 items, 4 cards, each with its id (copyable)
    red = next(r for r in filled.vectors()[0] if r.name == "red.png")
    at.segmented_control(key="query_mode").set_value("Item").run()
    at.text_input(key="query_item").input("red.png").run()
    assert not at.exception and not at.error
    assert any(red.id in c.value.replace("\\", "") for c in at.caption)  # says which item was taken
    assert red.id not in [c.value for c in at.code[1:]]  # the query item is shown first, never among results
    at.text_input(key="query_item").input("green.png").run()
    assert "No item" in at.error[0].value


def test_any_region_match_finds_images_only_and_a_box_on_the_query_item_searches_by_that_part(filled):
    at = AppTest.from_file(str(REPO / "pages/2_Neighbours.py"), default_timeout=120).run()
    at.text_input(key="query_text").input("a red thing").run()
    at.session_state["match_choice"] = "any region"
    at.run()
    assert not at.exception and "by their best region" in at.subheader[0].value
    hit_ids = [b.key.removeprefix("hit-") for b in at.button if b.key and b.key.startswith("hit-")]
    assert len(hit_ids) == 2 and all(i.startswith("img-") for i in hit_ids)  # the two images, no text
    red = filled.run(NeighboursQuery(Source(text="a red thing"), k=1, match="region")).hits()[0]
    at.button(key=f"hit-{red.id}").click().run()  # "Neighbours of this": the image becomes the query
    assert not at.exception and any(e.label == "Search by a part of this image" for e in at.expander)


def test_a_drawn_box_is_read_as_fractions_of_the_picture():
    from components.query.region_search import box_of

    class Event:
        selection = {"box": [{"x": [90.0, 10.0], "y": [-5.0, 40.0]}], "points": []}

    assert box_of(Event(), (100, 80)) == (0.1, 0.0, 0.9, 0.5)
    assert box_of(None, (100, 80)) is None


def test_images_without_region_vectors_are_computed_by_a_server_job_from_the_page(env, tiny_encoder, monkeypatch):
    monkeypatch.setenv("SIMLAB_REGIONS", "0")  # a collection from before region search
    lab = open_lab(load_settings(), encoder=tiny_encoder)
    lab.ingest(plan_uploads([("red.png", image_bytes((255, 0, 0))), ("blue.png", image_bytes((0, 0, 255)))]))
    at = AppTest.from_file(str(REPO / "pages/2_Neighbours.py"), default_timeout=120).run()
    at.text_input(key="query_text").input("red").run()
    at.session_state["match_choice"] = "any region"
    at.run()
    assert not at.exception and "ready for 0 of 2 images" in " ".join(c.value for c in at.caption)
    at.button(key="regions-compute").click().run()
    deadline = time.time() + 60
    while lab.regions_ready() != (2, 2) and time.time() < deadline:
        time.sleep(0.2)
    assert lab.regions_ready() == (2, 2)
    at.run()
    assert not at.exception and "2 nearest by their best region" in at.subheader[0].value
    assert not any(b.key == "regions-compute" for b in at.button)
