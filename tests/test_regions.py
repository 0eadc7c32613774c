"""Region search: region vectors at ingest, MUVERA encodings, exact MaxSim re-ranking, region query specs."""
import numpy as np
import pytest
from scipy.stats import spearmanr

from indexing.core.errors import InputError
from indexing.labels.label_store import LabelStore
from indexing.lab import open_lab
from indexing.core.settings import load_settings
from indexing.model.regions import GRID, cells_in
from indexing.query import runner
from indexing.query.specs import NeighboursQuery, QueryError, RegionQuery, Source, from_json
from indexing.shapes import world
from indexing.shapes.demo import demo_plan
from indexing.store.late_interaction import FDE, chamfer
from indexing.store import region_files
from indexing.store.region_files import FDE_PARAMS, RegionFiles, decode_codes, encode_codes, maxsim_codes
from indexing.ingest.sources import plan_uploads
from tests.conftest import image_bytes


def clustered_sets(n: int, regions: int, dim: int, seed: int = 0, concepts: int = 40) -> np.ndarray:
    """Sets of unit vectors drawn around a few shared concepts, as image regions are."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((concepts, dim))
    picks = rng.integers(0, concepts, (n, regions))
    x = centres[picks] + 0.6 * rng.standard_normal((n, regions, dim))
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def test_fde_inner_products_track_chamfer_similarity():
    """An image holding the query's own vectors is found first, and the estimate orders images with Chamfer
    similarity (rank correlation over a collection of clustered sets)."""
    docs = clustered_sets(1500, 16, 64, concepts=400)
    fde = FDE(64, reps=20, k_sim=3, d_proj=16)
    encoded = fde.documents(docs)
    rng = np.random.default_rng(7)
    rho = []
    for planted in rng.choice(1500, 10, replace=False):
        query = docs[planted, :2]
        estimate = encoded @ fde.query(query)
        assert int(np.argmax(estimate)) == planted
        rho.append(spearmanr(estimate, chamfer(query, docs)).statistic)
    assert np.mean(rho) > 0.3, rho
    assert encoded.shape == (1500, fde.size) == (1500, 20 * 8 * 16)


def test_an_empty_document_bucket_is_filled_from_its_nearest_region():
    fde = FDE(8, reps=1, k_sim=3, d_proj=4, seed=3)
    one = np.eye(8, dtype=np.float32)[None, :1]  # one region: every bucket but its own is empty
    encoded = fde.documents(one).reshape(8, 4)
    assert np.allclose(encoded, encoded[0]) and np.abs(encoded).sum() > 0  # all take that region's projection


def test_maxsim_rerank_equals_exhaustive_when_the_shortlist_covers_the_collection(tmp_path):
    docs = clustered_sets(300, 16, 32, seed=2)
    files = RegionFiles(tmp_path, "c", 32)
    files.append([f"i{k}" for k in range(len(docs))], docs)
    rows = np.arange(len(docs))
    for q in clustered_sets(5, 2, 32, seed=4):
        short = np.sort(np.argpartition(-files.first_pass(q, rows, 300), 299)[:300])
        exact = files.maxsim(q, short)
        top = short[np.argsort(-exact, kind="stable")[:10]]
        everything = chamfer(q, files.regions_of(rows))
        assert list(top) == list(np.argsort(-everything, kind="stable")[:10])
        assert np.allclose(np.sort(exact)[::-1][:10], everything[top], atol=1e-5)


def test_four_bit_codes_keep_directions_and_rows_append_once(tmp_path):
    x = clustered_sets(6, 16, 64)
    assert (decode_codes(encode_codes(x)) * x).sum(-1).min() > 0.97
    files = RegionFiles(tmp_path, "c", 64)
    assert files.append(["a", "b", "c"], x[:3]) == 3 and files.append(["c", "d"], x[2:4]) == 1
    assert files.index() == {"a": 0, "b": 1, "c": 2, "d": 3} and files.bytes_per_image == 16 * 32 + fde_size(64)
    with open(tmp_path / "regions" / "c" / "codes.bin", "ab") as f:
        f.write(b"\x01" * 7)  # an interrupted append's tail
    assert files.append(["e"], x[4:5]) == 1 and files.index()["e"] == 4
    assert np.allclose(files.regions_of(np.array([4]))[0], decode_codes(encode_codes(x[4:5]))[0])
    (tmp_path / "regions" / "c" / "centre.npy").write_bytes(b"\x93NUMPY garbage")  # a damaged file: one line
    with pytest.raises(InputError, match="centre.npy is damaged; delete"):
        files.append(["f"], x[5:6])
    other = RegionFiles(tmp_path, "c", 64, reading="another reading")  # vectors made another way are stale
    assert other.count() == 0 and files.count() == 5
    assert other.append(["a"], x[:1]) == 1 and other.index() == {"a": 0} and files.count() == 0


def fde_size(dim: int) -> int:
    size = FDE(dim, **FDE_PARAMS).size
    return size + -(-size // 8) + 4  # int8 encoding, its signs in bits, its scale


def test_maxsim_read_from_codes_equals_chamfer_over_the_decoded_regions():
    x = clustered_sets(50, 16, 64, seed=5)
    x[3, 2] = 0  # a region with no direction reads as zeros, not NaN
    codes = encode_codes(x)
    for query in (x[7, :1], x[9, :3], clustered_sets(1, 2, 64, seed=6)[0]):
        assert np.allclose(maxsim_codes(query, codes), chamfer(query, decode_codes(codes)), atol=1e-5)
    assert np.isfinite(maxsim_codes(x[0, :2], codes)).all()


def test_the_first_pass_finds_the_planted_image_and_its_signs_lose_little(tmp_path):
    docs = clustered_sets(4000, 16, 64, concepts=400, seed=8)
    files = RegionFiles(tmp_path, "c", 64)
    files.append([f"i{k}" for k in range(len(docs))], docs)
    rows = np.arange(len(docs))
    rng = np.random.default_rng(9)
    recall = {"signs": [], "int8 only": []}
    for planted in rng.choice(len(docs), 8, replace=False):
        query = docs[planted, rng.choice(16, 2, replace=False)]
        estimate = files.first_pass(query, rows, shortlist=250)  # the signs keep 4 × 250 of the 4,000
        assert planted in np.argsort(-estimate)[:40]  # in the first 1 % of the estimates
        full = files.first_pass(query, rows, shortlist=len(docs))  # every row gets its int8 estimate
        kept = np.argsort(-estimate)[:len(docs) // 4]
        assert np.delete(estimate, kept).max() < estimate[kept].min()  # the rest rank below the kept
        assert np.allclose(estimate[kept], full[kept], rtol=0, atol=1e-5)  # which have their int8 estimates
        exact = files.maxsim(query, rows)
        assert np.allclose(exact, chamfer(query, files.regions_of(rows)), atol=1e-5)
        best = set(np.argsort(-exact)[:10])
        for name, scores in (("signs", estimate), ("int8 only", full)):
            recall[name].append(len(set(np.argpartition(-scores, 400)[:400]) & best) / 10)  # a 10 % shortlist
    assert np.mean(recall["signs"]) >= np.mean(recall["int8 only"]) - 0.05 and np.mean(recall["signs"]) > 0.8


@pytest.mark.parametrize("box, message", [((0.1, 0.1, 0.2, 0.2), "smaller than one region"),
                                          ((0.5, 0.5, 1.2, 0.9), "not inside the image"),
                                          ((0.6, 0.1, 0.2, 0.9), "not inside the image"),
                                          ((0, 0, float("nan"), 1), "four numbers")])
def test_bad_boxes_are_refused_in_one_line(box, message):
    with pytest.raises(InputError, match=message):
        cells_in(box)


def test_a_box_covers_the_cells_it_mostly_covers():
    assert cells_in((0, 0, 0.5, 0.5)) == [0, 1, GRID, GRID + 1]
    assert cells_in((0, 0, 1, 1)) == list(range(GRID * GRID))


@pytest.fixture
def pair_lab(lab):
    lab.ingest(demo_plan(40, seed=9, pair_share=0.5))
    return lab


def test_ingest_keeps_region_vectors_and_a_box_finds_the_scene_it_was_cut_from(pair_lab):
    ready, images = pair_lab.regions_ready()
    assert images >= 40 and ready == images
    records = pair_lab.snapshot().records
    scene = next(r for r in records if r.kind == "image" and r.name.startswith("pair-"))
    spec = RegionQuery(Source(item=scene.id), (0.0, 0.0, 0.5, 1.0), k=5)
    results = pair_lab.run(spec)
    assert results.hits()[0].id == scene.id and results.main == "regions"
    why = pair_lab.why(spec)  # the heatmap's target: the box's own regions, their mean direction
    assert why.label == "the part in the box" and np.allclose(why.vector, results.query_vector, atol=1e-6)
    assert results.scored.cells[results.top["regions"][0]]  # the matching regions, for the card's rings


def test_region_specs_round_trip_through_save_and_rerun(pair_lab):
    image = next(r for r in pair_lab.snapshot().records if r.kind == "image")
    labels = LabelStore(pair_lab.settings.data_dir)
    for spec in (RegionQuery(Source(item=image.id), (0.25, 0.25, 0.75, 0.75), k=4),
                 NeighboursQuery(Source(text="a red circle"), k=4, match="region"),
                 RegionQuery(Source(image=pair_lab.blobs.original_path(image.id).read_bytes()), (0, 0, 1, 1), k=4)):
        saved = labels.save_query("part", spec)
        again = {q.qid: q for q in labels.queries()}[saved.qid].spec
        assert again == from_json(again.to_json()) and again.family in ("region", "neighbours")
        assert [h.id for h in pair_lab.run(again).hits()] == [h.id for h in pair_lab.run(spec).hits()]


def test_region_matching_scores_images_only_and_says_what_is_not_ready(env, tiny_encoder, monkeypatch):
    monkeypatch.setenv("SIMLAB_REGIONS", "0")
    lab = open_lab(load_settings(), encoder=tiny_encoder)
    lab.ingest(plan_uploads([("red.png", image_bytes((255, 0, 0))), ("blue.png", image_bytes((0, 0, 255))),
                             ("t.txt", b"a red thing\n")]))
    assert lab.regions_ready() == (0, 2)
    spec = NeighboursQuery(Source(text="red"), match="region")
    results = lab.run(spec)
    assert results.hits() == [] and "ready for 0 of 2 images" in " ".join(results.notes)
    text = next(r for r in lab.snapshot().records if r.kind == "text")
    with pytest.raises(QueryError, match="is a text"):
        lab.run(RegionQuery(Source(item=text.id), (0, 0, 1, 1)))
    done = lab.compute_regions()
    assert done.added == 2 and lab.regions_ready() == (2, 2)
    hits = lab.run(spec).hits()
    assert {h.kind for h in hits} == {"image"} and len(hits) == 2
    with pytest.raises(QueryError, match="Region matching scores images"):
        NeighboursQuery(Source(text="red"), match="region", kind="text")


def test_the_muvera_first_pass_gives_the_exact_results_when_its_shortlist_holds_them(pair_lab, monkeypatch):
    spec = NeighboursQuery(Source(text="a green star"), k=5, match="region")
    exact = pair_lab.run(spec)
    monkeypatch.setattr(runner, "EXACT_REGIONS_UP_TO", 0)  # every collection takes the first pass
    monkeypatch.setattr(runner, "REGION_SHORTLIST", 10_000)  # … with a shortlist that covers it
    shortlisted = pair_lab.run(spec)
    assert [h.id for h in shortlisted.hits()] == [h.id for h in exact.hits()]
    assert np.allclose([h.score for h in shortlisted.hits()], [h.score for h in exact.hits()])


def test_region_vectors_of_a_two_object_scene_differ_left_and_right(shapes_encoder):
    from indexing.model.regions import region_vectors
    scene = world.pair_world(1, seed=5)[0]
    r = region_vectors(shapes_encoder, [scene.image])[0]
    left = shapes_encoder.encode_texts([f"a {scene.scene.left.label}"])[0]
    assert r.shape == (GRID * GRID, shapes_encoder.dim)
    left_cells = [c for c in range(GRID * GRID) if c % GRID < GRID // 2]
    right_cells = [c for c in range(GRID * GRID) if c % GRID >= GRID // 2]
    assert (r[left_cells] @ left).max() > (r[right_cells] @ left).max()


def test_an_ingest_computes_regions_for_its_own_images_only_and_saved_runs_see_a_pass(env, tiny_encoder,
                                                                                      monkeypatch):
    monkeypatch.setenv("SIMLAB_REGIONS", "0")
    older = open_lab(load_settings(), encoder=tiny_encoder)
    older.ingest(plan_uploads([("red.png", image_bytes((255, 0, 0)))]))
    spec = NeighboursQuery(Source(text="red"), match="region")
    assert older.saved_results(spec).hits() == []
    monkeypatch.setenv("SIMLAB_REGIONS", "1")
    lab = open_lab(load_settings(), encoder=tiny_encoder)
    lab.ingest(plan_uploads([("blue.png", image_bytes((0, 0, 255)))]))
    assert lab.regions_ready() == (1, 2)  # the older image waits for a pass, not for the next ingest
    assert len(lab.saved_results(spec).hits()) == 1
    lab.compute_regions()
    assert len(lab.saved_results(spec).hits()) == 2  # a pass changes no write generation, yet is seen


def test_a_short_first_pass_scores_its_shortlist_exactly_and_the_rest_below(pair_lab, monkeypatch):
    """With the signs' pre-filter and a shortlist smaller than the collection, the shortlisted images carry
    their exact MaxSim and every other image ranks below them (at -2 or less), still in a finite order."""
    spec = NeighboursQuery(Source(text="a green star"), k=3, match="region")
    exact = pair_lab.run(spec).scored.scores["regions"]
    monkeypatch.setattr(runner, "EXACT_REGIONS_UP_TO", 0)
    monkeypatch.setattr(runner, "shortlist_size", lambda images, depth: 6)
    monkeypatch.setattr(region_files, "SIGNS_PER_SHORTLIST", 3)  # the signs keep 3 × 6 of the 40 images
    short = pair_lab.run(spec)
    scores = short.scored.scores["regions"]
    images = np.isfinite(exact)
    shortlisted = images & (scores >= -1)
    assert shortlisted.sum() == 6 and np.isfinite(scores[images]).all() and (scores[images & ~shortlisted] <= -2).all()
    assert np.allclose(scores[shortlisted], exact[shortlisted], atol=1e-5)
    assert [h.score for h in short.hits()] == sorted(scores[shortlisted], reverse=True)[:3]


def test_the_cost_benchmark_measures_recall_against_exhaustive_maxsim(tmp_path):
    """benchmarks.region on a small collection: a shortlist of every image recalls all of exhaustive MaxSim's
    top 10; a small one recalls less or the same; the stored bytes are the files' own; kept files are reused
    for the same queries."""
    from benchmarks.region import measure
    out = measure(3000, 64, 6, [100, 3000], keep=str(tmp_path))
    again = measure(3000, 64, 6, [100], keep=str(tmp_path))
    assert again["build_s"] == 0 and out["build_s"] > 0
    assert again["shortlist_100"]["recall_at_10"] == out["shortlist_100"]["recall_at_10"]
    assert out["shortlist_3000"]["recall_at_10"] == 1.0
    assert 0 < out["shortlist_100"]["recall_at_10"] <= 1.0
    assert out["bytes_per_image"] == 16 * 32 + fde_size(64) and out["fde_dims"] == FDE(64, **FDE_PARAMS).size
    assert out["shortlist_100"]["p95_ms"] >= out["shortlist_100"]["p50_ms"] > 0


def test_a_snapshot_maps_its_items_to_region_rows_once_per_index():
    snapshot = runner.gallery_snapshot(["a", "b", "c"], np.eye(3, dtype=np.float32))
    index = {"c": 0, "a": 1}
    rows = snapshot.rows_in(index)
    assert rows.tolist() == [1, -1, 0] and snapshot.rows_in(index) is rows  # asked again: not rebuilt
    assert snapshot.rows_in({"b": 2}).tolist() == [-1, 2, -1]  # a new index (the files changed): rebuilt
