"""Maps: placement, the disk cache, degenerate collections, parameter validation, clusters."""
import numpy as np
import pytest

from indexing.maps import projection as proj
from indexing.maps.clusters import cluster
from indexing.maps.projection import MapCache, MapError, MapParams, extend, fit, get_map, locate, place


def clustered(n: int, dim: int = 32, centres: int = 4, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centres, dim))
    v = c[rng.integers(0, centres, n)] + 0.1 * rng.normal(size=(n, dim))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def test_query_equal_to_an_item_lands_on_it():
    v = clustered(50)
    coords = np.random.default_rng(1).normal(size=(50, 2)).astype(np.float32)
    assert np.allclose(place(v[7], v, coords)[0], coords[7])


def test_placement_is_pulled_towards_closer_neighbours():
    ref = np.eye(3, dtype=np.float32)
    coords = np.array([[0, 0], [10, 0], [0, 10]], np.float32)
    q = np.array([0.9, 0.1, 0.0], np.float32)
    x, y = place(q, ref, coords, k=3)[0]
    assert x < 2 and y < 2


def test_an_item_query_sits_on_its_own_point_and_a_new_query_among_its_neighbours():
    v = clustered(40)
    coords = np.random.default_rng(0).normal(size=(40, 2)).astype(np.float32)
    assert locate(3, coords, None).tolist() == coords[3].tolist()
    assert locate(None, coords, v @ v[3]) == pytest.approx(coords[3], abs=1e-4)  # equal to an item: lands on it


@pytest.mark.parametrize("n", [0, 1, 2, 5, 12])
def test_tiny_collections_get_a_map(n):
    p = fit([str(i) for i in range(n)], clustered(max(n, 1))[:n], MapParams(n_neighbors=15))
    assert p.coords.shape == (n, 2) and np.isfinite(p.coords).all()


def test_duplicates_and_fewer_items_than_neighbours():
    v = np.repeat(clustered(5), 4, axis=0)  # 20 points, only 5 distinct
    p = fit([str(i) for i in range(20)], v, MapParams(n_neighbors=50))
    assert p.coords.shape == (20, 2) and np.isfinite(p.coords).all()


def test_large_collections_fit_a_sample_and_place_the_rest():
    v = clustered(400, dim=64)
    p = fit([str(i) for i in range(400)], v, MapParams(sample=100, dims=3))
    assert p.coords.shape == (400, 3) and p.fitted.sum() == 100


def test_disk_cache_reuses_the_fit_and_places_new_items(tmp_path, monkeypatch):
    v = clustered(60)
    ids = [f"id{i}" for i in range(60)]
    cache = MapCache(tmp_path)
    first, fitted = get_map(cache, "col", ids[:50], v[:50], MapParams())
    assert fitted
    calls = []
    monkeypatch.setattr(proj, "fit", lambda *a, **k: calls.append(1))
    second, fitted = get_map(cache, "col", ids, v, MapParams())  # a fresh process would read the same file
    assert not fitted and not calls
    assert np.allclose(second.coords[:50], first.coords) and second.coords.shape == (60, 2)
    assert not second.fitted[50:].any()


def test_refit_fits_again(tmp_path):
    v = clustered(30)
    ids = [str(i) for i in range(30)]
    cache = MapCache(tmp_path)
    get_map(cache, "col", ids, v, MapParams())
    _, fitted = get_map(cache, "col", ids, v, MapParams(), refit=True)
    assert fitted


def test_extend_drops_deleted_items():
    v = clustered(20)
    p = fit([str(i) for i in range(20)], v, MapParams())
    smaller = extend(p, [str(i) for i in range(10)], v[:10])
    assert len(smaller) == 10 and np.allclose(smaller.coords, p.coords[:10])


@pytest.mark.parametrize("params, message", [
    (MapParams(n_neighbors=1), "n_neighbors"), (MapParams(min_dist=1.5), "min_dist"),
    (MapParams(dims=4), "dims"), (MapParams(sample=3), "sample")])
def test_parameter_validation(params, message):
    with pytest.raises(MapError, match=message):
        params.validate()


def test_clusters_sizes_and_representatives():
    v = clustered(200, centres=4)
    c = cluster(v, k=4)
    assert sum(c.sizes) == 200 and len(c.representatives) == 4
    for members, reps in zip(c.sizes, c.representatives):
        assert len(reps) == min(4, members)
    assert all(c.labels[r] == i for i, reps in enumerate(c.representatives) for r in reps)
