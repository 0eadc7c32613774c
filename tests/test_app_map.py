"""Map page: points drawn, query overlay, selection gallery, URL round trip, odd collections."""
import base64
import json
import time
from types import SimpleNamespace

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from components.map.figure import MAX_CATEGORIES, colour_values, map_figure
from components.map.view import region_points, selection_csv
from indexing.shapes.demo import demo_plan
from indexing.lab import open_lab
from indexing.core.settings import load_settings
from indexing.store.chroma import Record
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


def select_points(at: AppTest, indices: list[int], chart: int = 0, box: list[float] | None = None) -> AppTest:
    """Send a selection the way the browser does: as the chart widget's state on the next run (the points, and
    the box drawn around them in data coordinates, x0, x1, y0, y1, if any)."""
    chart_id = at.get("plotly_chart")[chart].proto.id
    states = at._tree.get_widget_states

    def with_selection():
        ws = states()
        w = ws.widgets.add()
        w.id = chart_id
        w.string_value = json.dumps({"selection": {"points": [{"customdata": i} for i in indices],
                                                   "point_indices": indices, "lasso": [],
                                                   "box": [{"x": box[:2], "y": box[2:]}] if box else []}})
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


def test_first_open_shows_a_pca_layout_at_once_then_the_umap_map(demo):
    from indexing.maps.jobs import MapJobs
    from indexing.maps.projection import MapCache, MapParams

    at = AppTest.from_file(PAGE, default_timeout=300).run()
    assert not at.exception
    assert "quick PCA layout while UMAP fits in the background" in " ".join(c.value for c in at.caption)
    assert sum(n_points(t) for t in traces(at)) == demo.store.count()  # every point is there already
    cache = MapCache(demo.settings.data_dir)
    deadline = time.time() + 300
    while cache.load(demo.store.name, MapParams()) is None:  # the child process writes the fitted map
        assert time.time() < deadline, "the background UMAP fit did not land"
        time.sleep(0.5)
    at.run()
    assert not at.exception and "UMAP fitted in" in " ".join(c.value for c in at.caption)
    records, vectors = demo.vectors()
    fitted = MapJobs(demo.settings.data_dir).projection(demo.store.name, [r.id for r in records], vectors, MapParams())
    assert fitted.method == "umap" and len(fitted) == len(records)


def test_a_click_shows_the_item_and_its_neighbours(demo):
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    select_points(at, [2])
    assert not at.exception
    assert at.subheader[0].value == "Selected item"
    assert at.session_state["map_sel"] == demo.vectors()[0][2].id
    assert "Nearest neighbours" in [c.value for c in at.caption]


def test_a_box_from_a_shared_link_selects_the_same_points(demo):
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.query_params.update({"map_region": "box:-1e9,1e9,-1e9,1e9"})  # everything
    at.run()
    assert not at.exception
    assert at.subheader[0].value == f"{demo.store.count()} selected"


@pytest.mark.parametrize("params", [{"map_md": "nan"}, {"map_nn": "1"}, {"map_nn": "1e9"}, {"map_dims": "7"},
                                    {"map_k": "-3"}, {"map_region": "lasso:1,2;x"}, {"map_sample": "inf"}])
def test_hostile_url_values_are_clamped_or_dropped_with_a_note(demo, params):
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.query_params.update(params)
    at.run()
    assert not at.exception and not at.error
    if "map_region" not in params:
        key = next(iter(params))
        assert any(key in c.value.replace("\\", "") for c in at.caption)  # the page says what it changed


def test_region_points_box_and_lasso():
    coords = np.array([[0, 0], [1, 1], [2, 2], [5, 5]], np.float32)
    assert region_points("box:-0.5,1.5,-0.5,1.5", coords) == [0, 1]
    assert region_points("lasso:-1,-1;3,-1;3,3;-1,3", coords) == [0, 1, 2]
    assert region_points("lasso:0,0;1", coords) == [] and region_points("box:1,2", coords) == []


def test_a_box_or_lasso_event_becomes_short_url_text_that_selects_the_same_points():
    from types import SimpleNamespace

    from components.map.view import region_from_event

    box = SimpleNamespace(selection={"points": [], "box": [{"x": [2.5, -0.5], "y": [-0.5, 1.5]}], "lasso": []})
    assert region_from_event(box) == "box:-0.5,2.5,-0.5,1.5"
    xs = list(np.cos(np.linspace(0, 2 * np.pi, 500)) * 3)
    ys = list(np.sin(np.linspace(0, 2 * np.pi, 500)) * 3)
    lasso = region_from_event(SimpleNamespace(selection={"points": [], "box": [], "lasso": [{"x": xs, "y": ys}]}))
    assert lasso.startswith("lasso:") and lasso.count(";") < 64 and len(lasso) < 2000  # a hand-drawn loop, bounded
    coords = np.array([[0, 0], [1, 1], [5, 5]], np.float32)
    assert region_points(lasso, coords) == [0, 1] and region_from_event(None) == ""


def test_a_map_past_the_labelled_size_sends_coordinates_only_and_finds_clicks_by_position(monkeypatch):
    import components.map.figure as map_figure_module
    from components.map.view import selected_indices

    monkeypatch.setattr(map_figure_module, "LABELLED_UP_TO", 50)
    rng = np.random.default_rng(0)
    coords = rng.normal(size=(200, 2)).astype(np.float32)
    records = [Record(f"id{i}", "image", f"<b>{i}</b>.jpg", None, {"g": str(i % 3)}) for i in range(200)]
    data = json.loads(map_figure(coords, records, [r.metadata["g"] for r in records]).to_json())["data"]
    assert sum(len(base64.b64decode(t["x"]["bdata"])) // 4 for t in data) == 200
    assert all("customdata" not in t and "hovertext" not in t and t["hoverinfo"] == "none" for t in data)
    click = SimpleNamespace(selection={"points": [{"x": float(coords[17, 0]), "y": float(coords[17, 1])}]})
    assert selected_indices(click, coords) == [17]
    box = SimpleNamespace(selection={"points": [{"x": 0.0, "y": 0.0}], "box": [{"x": [-0.5, 0.5], "y": [-0.5, 0.5]}]})
    inside = np.flatnonzero((np.abs(coords) <= 0.5).all(axis=1)).tolist()
    assert inside and selected_indices(box, coords) == inside
    # a query's top-k carry their ids even on such a map: a box over them still selects everything inside
    box.selection["points"].append({"customdata": inside[0], "x": 0.0, "y": 0.0})
    assert selected_indices(box, coords) == inside


def test_the_page_says_what_stops_above_the_labelled_size(demo, monkeypatch):
    import components.map.figure as map_figure_module
    import components.map.view as map_view_module

    for module in (map_figure_module, map_view_module):
        monkeypatch.setattr(module, "LABELLED_UP_TO", 10)
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.session_state["map_dims"] = 3  # e.g. from a shared link
    at.run()
    assert not at.exception
    count = demo.store.count()
    assert any(f"{count:,} points: above 10 they are drawn without hover labels" in c.value for c in at.caption)
    assert any("3-D maps are drawn up to 10 points" in c.value for c in at.caption)
    data = traces(at)
    assert all(t["type"] == "scattergl" for t in data)
    assert not any("hovertext" in t for t in data if t.get("name") not in ("selected",))


def test_settled_region_keeps_a_selection_across_a_layout_change_or_drops_it_saying_so():
    from components.map.view import region_on_map, settled_region

    coords = np.array([[0, 0], [1, 1], [2, 2], [10, 10]], np.float32)
    assert settled_region("box:-0.5,1.5,-0.5,1.5", [], False, "L", "L", coords)[:2] == ("box:-0.5,1.5,-0.5,1.5", [0, 1])
    kept, picked, note = settled_region("box:400,500,400,500", [2, 3], False, "pca", "umap", coords)
    assert picked == [2, 3] and set(region_points(kept, coords)) == {2, 3} and "outlined again" in note
    assert region_on_map(kept, coords)
    assert settled_region("box:400,500,400,500", [], False, "L", "L", coords) == (
        "", [], "The selection was dropped: it lay off this map's layout (select again).")
    three = np.zeros((4, 3), np.float32)
    assert settled_region("box:0,1,0,1", [1], False, "2d", "3d", three)[:2] == ("", [1])


def test_a_box_drawn_on_the_quick_layout_is_redrawn_around_its_items_on_the_umap_map(demo):
    from indexing.maps.projection import MapCache, MapParams

    at = AppTest.from_file(PAGE, default_timeout=300).run()
    assert "quick PCA layout" in " ".join(c.value for c in at.caption)
    select_points(at, [0, 1, 2, 3, 4], box=[-1e3, 1e3, -1e3, 1e3])  # drawn on the PCA layout
    assert at.subheader[0].value == "5 selected", at.session_state["map_region_layout"]
    cache = MapCache(demo.settings.data_dir)
    deadline = time.time() + 300
    while cache.load(demo.store.name, MapParams()) is None:
        assert time.time() < deadline, "the background UMAP fit did not land"
        time.sleep(0.5)
    at.run()  # the UMAP map: the chart repeats its last box, drawn in the PCA layout's coordinates
    assert not at.exception and "UMAP fitted in" in " ".join(c.value for c in at.caption)
    assert any("layout changed: the 5 selected items are kept" in c.value for c in at.caption), [c.value for c in at.caption]
    kept = at.session_state["map_region"]
    shape = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["selections"][0]
    records, _ = demo.vectors()
    from indexing.maps.jobs import MapJobs

    coords = MapJobs(demo.settings.data_dir).projection(demo.store.name, [r.id for r in records],
                                                         demo.vectors()[1], MapParams()).coords
    (lo_x, lo_y), (hi_x, hi_y) = coords.min(axis=0), coords.max(axis=0)
    assert lo_x - 1 <= shape["x0"] < shape["x1"] <= hi_x + 1 and lo_y - 1 <= shape["y0"] < shape["y1"] <= hi_y + 1
    inside = region_points(kept, coords)
    assert set(range(5)) <= set(inside)
    link = AppTest.from_file(PAGE, default_timeout=300)  # the copied link: the same selection
    link.query_params.update({"map_region": kept})
    link.run()
    assert link.subheader[0].value == f"{len(inside)} selected"


def test_a_new_box_or_query_replaces_the_clicked_items_ring(demo):
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    select_points(at, [2])
    assert at.session_state["map_sel"] == demo.vectors()[0][2].id  # the click's red ring
    select_points(at, [0, 1, 3], box=[-1e9, 1e9, -1e9, 1e9])
    assert at.session_state["map_sel"] == "" and at.subheader[0].value == "3 selected"  # the box replaces it
    select_points(at, [4])
    assert at.session_state["map_sel"] == demo.vectors()[0][4].id and at.session_state["map_region"] == ""
    at.text_input(key="map_q").input("a red circle").run()
    assert at.session_state["map_sel"] == "" and at.subheader[0].value.startswith("Top ")  # the query replaces it
