"""GeneCIS, CIRR and FashionIQ readers on the first records of their published files (tests/fixtures/benchmarks,
see its PROVENANCE.txt) with generated placeholder images; and, where ../shared/benchmarks is present, every
published record parsed."""
import json
import shutil
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from indexing.evaluation import cirr, fashioniq, genecis
from indexing.evaluation.published import BenchmarkDataError, rank_of
from tests.conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "benchmarks"
SHARED = REPO.parent / "shared" / "benchmarks"


def placeholder(path: Path, seed: int, size=(640, 480)) -> None:
    """A noise image unique to ``seed`` (so crops of different boxes differ too)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1] // 16, size[0] // 16, 3), dtype=np.uint8)
    Image.fromarray(pixels).resize(size, Image.NEAREST).save(path)


def genecis_images(tmp_path: Path) -> Path:
    """Placeholders for every image the fixture records name; each object task's first target is a copy of
    its reference (the published records reuse one reference with several targets, so only the first)."""
    images = tmp_path / "images"
    tasks = {task: genecis.read_task(FIXTURES / "genecis" / f"{task}.json")[0] for task in genecis.TASKS}
    for ref, _, gallery in (s for samples in tasks.values() for s in samples):
        for key in (ref, *gallery):
            placeholder(genecis.image_path(images, key), zlib.crc32(repr(key[:2]).encode()), (1024, 1024))
    for task in ("focus_object", "change_object"):
        ref, _, gallery = tasks[task][0]
        shutil.copy(genecis.image_path(images, ref), genecis.image_path(images, gallery[0]))
    return images


def test_genecis_reads_both_published_image_forms():
    assert genecis.image_key({"val_image_id": 121506}, "r") == ("coco", 121506)
    assert genecis.image_path(Path("I"), ("coco", 121506)) == Path("I/val2017/000000121506.jpg")
    assert genecis.image_key({"image_id": "2316576", "instance_bbox": [72, 101, 56.5, 69]}, "r") == \
        ("vg", "2316576", (72.0, 101.0, 56.5, 69.0))
    with pytest.raises(BenchmarkDataError, match="neither"):
        genecis.image_key({"id": 3}, "focus_object.json record 7")


def test_genecis_visual_genome_images_are_found_in_either_folder(tmp_path):
    placeholder(tmp_path / "VG_100K_2" / "42.jpg", 1)
    assert genecis.image_path(tmp_path, ("vg", "42", (0, 0, 1, 1))) == tmp_path / "VG_100K_2" / "42.jpg"


def test_genecis_crop_is_the_authors_enlarged_box_padded_to_a_black_square():
    image = Image.new("RGB", (400, 300), (255, 255, 255))
    crop = genecis.crop_instance(image, (100.0, 100.0, 100.0, 40.0))
    # left/top move back by 0.7 of the box; width/height grow to 1.7×: 170 × 68, padded to 170 × 170
    assert crop.size == (170, 170)
    assert crop.getpixel((85, 85)) == (255, 255, 255) and crop.getpixel((85, 2)) == (0, 0, 0)
    edge = genecis.crop_instance(image, (390.0, 290.0, 50.0, 50.0))  # clipped at the image's edge
    assert max(edge.size) <= 85 and edge.size[0] == edge.size[1]
    with pytest.raises(BenchmarkDataError, match="lies outside the 400×300 image"):
        genecis.crop_instance(image, (500.0, 10.0, 50.0, 50.0))


def test_genecis_runs_all_four_published_tasks(tmp_path, tiny_encoder):
    images = genecis_images(tmp_path)
    result = genecis.evaluate_genecis(tiny_encoder, FIXTURES / "genecis", images)
    assert set(result) == {f"genecis_{t}" for t in genecis.TASKS}
    for task in genecis.TASKS:
        r = result[f"genecis_{task}"]
        assert r["queries"] + r["left_out"] == 3
        methods = {"image", "text", "sum", "product"} if task.startswith("change") else {"image", "text", "sum"}
        assert set(r["recall"]) == methods
        for m in r["recall"].values():
            assert 0 <= m["R@1"] <= m["R@2"] <= m["R@3"] <= 1
    # the Visual Genome path, crops included, against the same ranks computed here from the crops themselves
    (ref, condition, gallery), *_ = genecis.read_task(FIXTURES / "genecis" / "focus_attribute.json")[0]
    crops = tiny_encoder.encode_images([genecis.load_image(images, k) for k in (ref, *gallery)])
    text = tiny_encoder.encode_texts([condition])[0]
    by_hand = {"image": crops[1:] @ crops[0], "text": crops[1:] @ text}
    one = genecis.evaluate_genecis(tiny_encoder, FIXTURES / "genecis", images, ("focus_attribute",), 1)
    for method, scores in by_hand.items():
        expected = rank_of(scores, 0)
        assert one["genecis_focus_attribute"]["recall"][method] == {f"R@{k}": float(expected < k) for k in (1, 2, 3)}
    first = genecis.evaluate_genecis(tiny_encoder, FIXTURES / "genecis", images, ("focus_object", "change_object"), 1)
    for task in ("focus_object", "change_object"):  # the first target is the reference's own picture
        assert first[f"genecis_{task}"]["queries"] == 1
        assert first[f"genecis_{task}"]["recall"]["image"]["R@1"] == 1.0


def test_genecis_missing_image_names_the_file_and_the_layout(tmp_path, tiny_encoder):
    images = genecis_images(tmp_path)
    samples, _ = genecis.read_task(FIXTURES / "genecis" / "focus_object.json")
    missing = genecis.image_path(images, samples[0][0])
    missing.unlink()
    with pytest.raises(BenchmarkDataError, match=r"000000\d{6}\.jpg not found \(GeneCIS images: COCO val2017"):
        genecis.evaluate_genecis(tiny_encoder, FIXTURES / "genecis", images, tasks=("focus_object",))
    with pytest.raises(BenchmarkDataError, match="No GeneCIS task files"):
        genecis.evaluate_genecis(tiny_encoder, tmp_path)


def test_ties_count_against_the_target():
    assert rank_of(np.array([0.5, 0.5, 0.2]), 0) == 1 and rank_of(np.array([0.9, 0.5, 0.2]), 0) == 0


def cirr_root(tmp_path: Path) -> Path:
    root = tmp_path / "cirr_dataset"
    shutil.copytree(FIXTURES / "cirr", root)
    for split in ("val", "test1"):
        queries, names = cirr.read_split(root, split)
        for i, (name, rel) in enumerate(names.items()):
            placeholder(root / rel.removeprefix("./"), i + (1000 if split == "test1" else 0), (96, 64))
        for q in queries:
            if q.target:  # the target is the reference's picture: image-only must find it first
                shutil.copy(root / names[q.reference].removeprefix("./"), root / names[q.target].removeprefix("./"))
    return root


def test_cirr_val_recall_and_recall_subset(tmp_path, tiny_encoder):
    result = cirr.evaluate_cirr(tiny_encoder, cirr_root(tmp_path))["cirr_val"]
    assert result["queries"] == 3 and result["complete"]
    assert set(result["recall"]) == set(cirr.COMPOSE_METHODS)
    assert result["recall"]["image"] == {"R@1": 1.0, "R@5": 1.0, "R@10": 1.0, "R@50": 1.0}
    assert result["recall_subset"]["image"]["R_subset@1"] == 1.0
    for m in result["recall_subset"].values():
        assert m["R_subset@1"] <= m["R_subset@2"] <= m["R_subset@3"]


def test_cirr_test1_writes_the_servers_submission_files(tmp_path, tiny_encoder):
    root = cirr_root(tmp_path)
    paths = cirr.submission(tiny_encoder, root, tmp_path / "out")
    recall_file, subset_file = (json.loads(p.read_text()) for p in paths)
    queries, names = cirr.read_split(root, "test1")
    assert recall_file["version"] == subset_file["version"] == "rc2"
    assert (recall_file["metric"], subset_file["metric"]) == ("recall", "recall_subset")
    for q in queries:
        top, top3 = recall_file[str(q.pairid)], subset_file[str(q.pairid)]
        assert q.reference not in top and len(top) == min(50, len(names) - 1)
        assert len(top3) == 3 and set(top3) <= set(q.members) - {q.reference}


def test_cirr_test1_has_no_scores(tmp_path, tiny_encoder):
    with pytest.raises(BenchmarkDataError, match="no targets"):
        cirr.evaluate_cirr(tiny_encoder, cirr_root(tmp_path), "test1")


def test_fashioniq_joins_the_two_captions_as_the_baselines_do():
    assert fashioniq.query_text(["is shiny and silver with shorter sleeves", "fit and flare."]) == \
        "Is shiny and silver with shorter sleeves and fit and flare"
    assert fashioniq.query_text([" yello and more flowing", "short and black"]) == "Yello and more flowing and short and black"


def test_fashioniq_three_categories_and_their_mean(tmp_path, tiny_encoder):
    root = tmp_path / "fashionIQ"
    shutil.copytree(FIXTURES / "fashioniq", root)
    for c in fashioniq.CATEGORIES:
        pairs, ids = fashioniq.read_category(root, c)
        for i, asin in enumerate(ids):
            placeholder(root / "images" / f"{asin}.png", zlib.crc32(asin.encode()), (64, 96))
        for candidate, _, target in pairs:
            shutil.copy(root / "images" / f"{candidate}.png", root / "images" / f"{target}.png")
    result = fashioniq.evaluate_fashioniq(tiny_encoder, root)["fashioniq_val"]
    for c in fashioniq.CATEGORIES:
        assert result[c]["queries"] == 3 and result[c]["gallery"] >= 12
        assert result[c]["recall"]["image"]["R@10"] == 1.0  # the reference (kept in the gallery) ties the target
    assert result["mean"]["image"] == {"R@10": 1.0, "R@50": 1.0}
    (root / "images" / f"{pairs[0][0]}.png").unlink()
    with pytest.raises(BenchmarkDataError, match=r"\.png not found \(FashionIQ"):
        fashioniq.evaluate_fashioniq(tiny_encoder, root, ("toptee",))


@pytest.mark.skipif(not SHARED.is_dir(), reason="the published files are not next to this clone")
def test_every_published_record_is_read():
    counts = {"focus_attribute": 2000, "change_attribute": 2112, "focus_object": 1960, "change_object": 1960}
    for task, n in counts.items():
        kept, left_out = genecis.read_task(SHARED / "genecis" / f"{task}.json")
        assert len(kept) + left_out == n and len(kept) > 0.9 * n
    for split in ("val", "test1"):
        queries, names = cirr.read_split(SHARED, split)
        assert queries and all(q.reference in names for q in queries)
    for c in fashioniq.CATEGORIES:
        pairs, ids = fashioniq.read_category(SHARED / "fashioniq", c)
        assert pairs and all(t in set(ids) for _, _, t in pairs)


def test_the_command_line_runs_cirr_val_and_writes_test1(tmp_path):
    from tests.test_cli import run
    from tests.conftest import tiny_env

    root, env = cirr_root(tmp_path), tiny_env(tmp_path / "data")
    val = json.loads(run(env, "evaluate", "--cirr", str(root), "--limit", "2", "--json", check_rc=0).stdout)
    assert val["cirr_val"]["queries"] == 2 and not val["cirr_val"]["complete"]
    out = json.loads(run(env, "evaluate", "--cirr", str(root), "--cirr-split", "test1", "--out", str(tmp_path / "sub"),
                         "--json", check_rc=0).stdout)
    assert [Path(p).name for p in out["cirr_test1_submission"]] == ["cirr_test1_sum_recall.json",
                                                                     "cirr_test1_sum_recall_subset.json"]
    (root / "dev").rename(root / "elsewhere")
    failed = run(env, "evaluate", "--cirr", str(root), "--json", check_rc=2)
    (error,) = [line for line in failed.stderr.splitlines() if not line.startswith("WARNING")]  # one line
    assert error.startswith("error: ") and "dev-" in error and "not found (CIRR:" in error
