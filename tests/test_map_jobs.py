"""Background map fits: a missing or stale map starts one fit; a good one starts none."""
import numpy as np

from indexing.maps.jobs import MapJobs
from indexing.maps.projection import MapCache, MapParams, fit


def vectors(n: int) -> np.ndarray:
    v = np.random.default_rng(n).normal(size=(n, 16)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_missing_map_starts_one_fit_and_shows_a_preview(tmp_path):
    jobs, params = MapJobs(tmp_path), MapParams()
    ids = [f"id{i}" for i in range(30)]
    shown = jobs.projection("c", ids, vectors(30), params)
    assert shown.method == "pca" and len(shown) == 30
    first = jobs.state("c", params)
    assert first is not None
    jobs.projection("c", ids, vectors(30), params)
    assert jobs._procs[jobs._key("c", params)][1] == first.started  # no second process for the same map


def test_a_map_is_refitted_only_when_more_was_added_than_it_was_fitted_on(tmp_path):
    params = MapParams()
    small = [f"id{i}" for i in range(6)]
    MapCache(tmp_path).save("c", fit(small, vectors(6), params))
    jobs = MapJobs(tmp_path)
    assert jobs.ensure("c", small + ["new1", "new2"], vectors(8), params) is not None
    assert jobs.state("c", params) is None  # two new items are placed; no refit
    grown = small + [f"new{i}" for i in range(40)]
    assert jobs.ensure("c", grown, vectors(46), params) is not None  # the old map still shows meanwhile
    assert jobs.state("c", params).running  # 40 new on a map of 6: fitted again in the background
