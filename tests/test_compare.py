"""Two models on the same items: re-encoding stored items under another model, neighbourhood agreement,
and the Map's comparison panel."""
import base64
import json

import numpy as np
from streamlit.testing.v1 import AppTest

from indexing.maps.compare import aligned, knn_agreement, nearest, reencode_plan
from indexing.shapes.demo import demo_plan
from indexing.lab import open_lab
from indexing.core.settings import load_settings
from tests.conftest import REPO


def values(data) -> np.ndarray:
    """A plotly array as numbers (plotly sends numpy arrays as base64 typed arrays)."""
    if isinstance(data, dict):
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"])
    return np.asarray(data)


def test_nearest_never_returns_the_item_itself_and_agreement_counts_shared_neighbours():
    line = np.array([[np.cos(t), np.sin(t)] for t in np.linspace(0, 1.5, 6)], np.float32)
    assert nearest(line, 2)[0].tolist() in ([1, 2], [2, 1]) and all(i not in row for i, row in enumerate(nearest(line, 2)))
    assert np.allclose(knn_agreement(line, line, 2), 1.0)
    shuffled = line[[0, 5, 1, 4, 2, 3]]  # the same items, other neighbours
    assert knn_agreement(line, shuffled, 2).mean() < 1.0


def test_reencoding_under_a_second_model_keeps_ids_and_metadata(env, tiny_encoder, shapes_encoder):
    tiny = open_lab(load_settings(), encoder=tiny_encoder)
    tiny.ingest(demo_plan(12, seed=5, pair_share=0.25))
    bundled = open_lab(load_settings(), encoder=shapes_encoder)
    records, _ = tiny.vectors()
    missing_original = records[0] if records[0].kind == "image" else next(r for r in records if r.kind == "image")
    tiny.blobs.original_path(missing_original.id).unlink()
    summary = bundled.ingest(reencode_plan(records, tiny.blobs, "tiny"))
    assert summary.failed == 1 and "no longer stored" in summary.errors[0].reason
    other = {r.id: r for r in bundled.vectors()[0]}
    assert set(other) == {r.id for r in records} - {missing_original.id}
    assert all(other[r.id].metadata == r.metadata for r in records if r.id in other)
    ia, ib = aligned(records, bundled.vectors()[0])
    assert [records[i].id for i in ia] == [bundled.vectors()[0][j].id for j in ib] and len(ia) == len(other)


def test_map_compares_with_another_model_and_rings_the_selection(env, tiny_encoder, shapes_encoder):
    from tests.test_app_map import select_points

    tiny = open_lab(load_settings(), encoder=tiny_encoder)
    tiny.ingest(demo_plan(20, seed=6))
    at = AppTest.from_file(str(REPO / "pages/3_Map.py"), default_timeout=300).run()
    at.toggle(key="compare-on").set_value(True).run()
    at.selectbox(key="compare-model").set_value("simlab-shapes").run()
    assert not at.exception
    assert any("items are not encoded under simlab" in c.value for c in at.caption)
    records, _ = tiny.vectors()
    # reversed, so the other collection's order differs and only a mapping by id puts the rings right
    open_lab(load_settings(), encoder=shapes_encoder).ingest(reencode_plan(records[::-1], tiny.blobs, "tiny"))
    at = select_points(at, [0, 1, 2])
    assert not at.exception
    [metric] = [m for m in at.metric if "nearest neighbours that both models have" in m.label]
    assert 0 <= int(metric.value.rstrip("%")) <= 100
    charts = at.get("plotly_chart")
    assert len(charts) == 2
    traces = json.loads(charts[1].proto.spec)["data"]
    [ring] = [t for t in traces if t["name"] == "selected on the other map"]
    # the rings sit where the same items (by id) are drawn on the other model's map
    other_ids = [r.id for r in open_lab(load_settings(), encoder=shapes_encoder).vectors()[0]]
    where = {}
    for t in traces:
        if t.get("customdata") is not None and t["name"] != "selected on the other map":
            for j, x, y in zip(values(t["customdata"]), values(t["x"]), values(t["y"])):
                where[other_ids[int(j)]] = (round(float(x), 4), round(float(y), 4))
    rings = sorted((round(float(x), 4), round(float(y), 4)) for x, y in zip(values(ring["x"]), values(ring["y"])))
    assert rings == sorted(where[records[i].id] for i in (0, 1, 2))


def test_a_selection_on_the_other_models_map_is_shown_on_this_one(env, tiny_encoder, shapes_encoder):
    from tests.test_app_map import select_points

    tiny = open_lab(load_settings(), encoder=tiny_encoder)
    tiny.ingest(demo_plan(20, seed=6))
    records, _ = tiny.vectors()
    shapes = open_lab(load_settings(), encoder=shapes_encoder)
    shapes.ingest(reencode_plan(records[::-1], tiny.blobs, "tiny"))
    at = AppTest.from_file(str(REPO / "pages/3_Map.py"), default_timeout=300).run()
    at.toggle(key="compare-on").set_value(True).run()
    at.selectbox(key="compare-model").set_value("simlab-shapes").run()
    other_records = shapes.vectors()[0]
    at = select_points(at, [0, 1, 2], chart=1)  # indices into the other model's records
    assert not at.exception
    assert any(h.value == "3 selected on the other model's map" for h in at.subheader)
    traces = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    [ring] = [t for t in traces if t["name"] == "selected on the other map"]
    here = {}
    for t in traces:
        if t.get("customdata") is not None and t["name"] != "selected on the other map":
            for i, x, y in zip(values(t["customdata"]), values(t["x"]), values(t["y"])):
                here[records[int(i)].id] = (round(float(x), 4), round(float(y), 4))
    rings = sorted((round(float(x), 4), round(float(y), 4)) for x, y in zip(values(ring["x"]), values(ring["y"])))
    assert rings == sorted(here[other_records[j].id] for j in (0, 1, 2))
