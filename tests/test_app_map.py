"""Map page: points drawn, query overlay, selection gallery, URL round trip, odd collections."""
import base64
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from components.map_figure import MAX_CATEGORIES, colour_values, map_figure
from components.map_view import selection_csv
from indexing.demo import demo_plan
from indexing.lab import open_lab
from indexing.settings import load_settings
from indexing.store import Record
from tests.conftest import REPO

PAGE = str(REPO / "pages" / "3_Map.py")


@pytest.fixture
def demo(env, tiny_encoder):
    lab = open_lab(load_settings(), encoder=tiny_encoder)
    lab.ingest(demo_plan(40, seed=3))
    return lab


def traces(at) -> list[dict]:
    return json.loads(at.get("plotly_chart")[0].proto.spec)["data"]


def n_points(trace: dict) -> int:
    data = trace.get("customdata")
    if isinstance(data, dict):  # plotly's base64 typed arrays
        return len(np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"]))
    return len(data or [])


def select_points(at: AppTest, indices: list[int]) -> AppTest:
    """Send a selection the way the browser does: as the chart widget's state on the next run."""
    chart_id = at.get("plotly_chart")[0].proto.id
    states = at._tree.get_widget_states

    def with_selection():
        ws = states()
        w = ws.widgets.add()
        w.id = chart_id
        w.string_value = json.dumps({"selection": {"points": [{"customdata": i} for i in indices],
                                                   "point_indices": indices, "box": [], "lasso": []}})
        return ws

    at._tree.get_widget_states = with_selection
    return at.run()


def test_map_draws_every_point_and_colours_by_metadata(demo):
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    assert not at.exception
    assert sum(n_points(t) for t in traces(at)) == demo.store.count()
    at.selectbox(key="map_colour").set_value("shape").run()
    names = {t["name"] for t in traces(at)}
    assert names <= {"circle", "square", "triangle", "star", "hexagon", "cross", "(none)"} and len(names) > 1


def test_query_marker_and_top_k(demo):
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    at.number_input(key="map_k").set_value(5).run()
    at.text_input(key="map_q").input("a red circle").run()
    assert not at.exception
    by_name = {t["name"]: t for t in traces(at)}
    assert "query" in by_name and n_points(by_name["top-k"]) == 5
    assert at.subheader[0].value == "Top 5 for the query"


def test_box_or_lasso_selection_gives_a_gallery_and_csv(demo):
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    select_points(at, [0, 3, 5])
    assert not at.exception
    assert at.subheader[0].value == "3 selected"
    assert any(b.label == "Download selection (CSV)" for b in at.get("download_button"))


def test_view_round_trips_through_the_url(demo):
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.query_params.update({"map_q": "a blue star", "map_colour": "color", "map_nn": "8", "map_k": "4"})
    at.run()
    assert not at.exception
    assert at.session_state["map_q"] == "a blue star" and at.session_state["map_nn"] == 8
    assert at.subheader[0].value == "Top 4 for the query"
    at.selectbox(key="map_colour").set_value("kind").run()
    assert at.query_params["map_colour"] == ["kind"] or at.query_params["map_colour"] == "kind"


def test_empty_collection_says_so(env):
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    assert not at.exception and "index is empty" in at.info[0].value


def test_ten_thousand_distinct_values_are_bucketed():
    records = [Record(f"id{i}", "text", "n", f"t{i}", {"uid": str(i)}) for i in range(10_000)]
    colours = colour_values(records, "uid")
    fig = map_figure(np.zeros((10_000, 2), np.float32), records, colours)
    assert len(fig.data) == MAX_CATEGORIES
    assert sum(len(t.customdata) for t in fig.data) == 10_000


def test_hover_text_is_escaped_and_csv_cells_are_inert():
    evil = Record("id0", "text", "n", "<img src=x onerror=alert(1)>", {"note": "=HYPERLINK(1)"})
    fig = map_figure(np.zeros((1, 2), np.float32), [evil], ["text"])
    assert "<img" not in fig.data[0].hovertext[0] and "&lt;img" in fig.data[0].hovertext[0]
    assert "'=HYPERLINK(1)" in selection_csv([evil])
