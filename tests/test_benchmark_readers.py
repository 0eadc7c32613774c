"""GeneCIS and CIRR readers, on small fixture files written in those formats."""
import json

import pytest
from PIL import Image

from indexing.benchmark_readers import BenchmarkDataError, evaluate_cirr, evaluate_genecis


def _png(path, colour):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (40, 30), colour).save(path)


def test_genecis_reader(tmp_path, tiny_encoder):
    for i, c in enumerate([(255, 0, 0), (250, 5, 5), (0, 0, 255), (0, 255, 0)]):
        _png(tmp_path / "images" / f"{i}.jpg", c)
    sample = {"reference": {"image_id": 0, "instance_bbox": [5, 5, 20, 15]}, "condition": "color",
              "target": {"image_id": 1}, "gallery": [{"image_id": 2}, {"image_id": 3}]}
    (tmp_path / "focus_attribute.json").write_text(json.dumps([sample, sample]))
    (tmp_path / "change_attribute.json").write_text(json.dumps([{**sample, "condition": "blue"}]))
    result = evaluate_genecis(tiny_encoder, tmp_path)
    assert set(result) == {"genecis_focus_attribute", "genecis_change_attribute"}
    assert set(result["genecis_focus_attribute"]) == {"image", "sum"}
    assert set(result["genecis_change_attribute"]) == {"image", "sum", "product"}
    assert result["genecis_focus_attribute"]["image"]["R@3"] == 1.0  # a gallery of 3: always within top 3
    assert result["genecis_focus_attribute"]["image"]["R@1"] == 1.0  # the near-identical red wins on pixels


def test_genecis_missing_files_are_named(tmp_path, tiny_encoder):
    with pytest.raises(BenchmarkDataError, match="No GeneCIS task files"):
        evaluate_genecis(tiny_encoder, tmp_path)
    (tmp_path / "focus_object.json").write_text(json.dumps(
        [{"reference": {"image_id": 9}, "condition": "car", "target": {"image_id": 9}, "gallery": []}]))
    with pytest.raises(BenchmarkDataError, match="9.jpg not found"):
        evaluate_genecis(tiny_encoder, tmp_path)


def test_cirr_reader(tmp_path, tiny_encoder):
    names = {}
    for i, c in enumerate([(255, 0, 0), (0, 0, 255), (0, 255, 0), (250, 250, 0)]):
        _png(tmp_path / "dev" / f"img{i}.png", c)
        names[f"img{i}"] = f"./dev/img{i}.png"
    (tmp_path / "cirr" / "image_splits").mkdir(parents=True)
    (tmp_path / "cirr" / "captions").mkdir(parents=True)
    (tmp_path / "cirr" / "image_splits" / "split.rc2.val.json").write_text(json.dumps(names))
    caps = [{"reference": "img0", "caption": "make it blue, and bigger", "target_hard": "img1"}]
    (tmp_path / "cirr" / "captions" / "cap.rc2.val.json").write_text(json.dumps(caps))
    result = evaluate_cirr(tiny_encoder, tmp_path)["cirr_val"]
    assert set(result) == {"image", "text", "sum", "slerp", "product", "clauses"}
    assert all(m["R@10"] == 1.0 for m in result.values())  # 3 candidates once the reference is excluded
