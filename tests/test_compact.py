"""int8 codes for search at scale: a quarter of float32's memory; re-ranking a shortlist restores exact order."""
import numpy as np
import pytest

from indexing.store.compact import Int8Vectors, search
from indexing.core.ranking import rank


def clustered(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(20, dim))[rng.integers(0, 20, n)] + 0.5 * rng.normal(size=(n, dim))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def test_a_quarter_of_the_memory_and_the_exact_top_10_after_re_ranking():
    gallery, queries = clustered(5000, 64, 0), clustered(20, 64, 1)
    codes = Int8Vectors(gallery)
    assert codes.nbytes == gallery.nbytes // 4 + 64 * 4  # one byte per number, one scale per dimension
    hits = 0
    for q in queries:
        top, scores = search(codes, gallery, q, 10, shortlist=50)
        exact = rank(gallery @ q, 10)
        assert np.allclose(scores, gallery[top] @ q)  # the scores returned are exact cosines
        hits += len(set(top.tolist()) & set(exact.tolist()))
    assert hits / (10 * len(queries)) >= 0.98
    approx = codes.approximate(queries[0])
    assert np.corrcoef(approx, gallery @ queries[0])[0, 1] > 0.99  # int8 scores track the cosine


def test_odd_sizes_fall_back_to_a_float_product():
    gallery = clustered(10, 13, 2)  # 13 dims: not a multiple of 8, 10 rows: too few for the int8 kernel
    top, _ = search(Int8Vectors(gallery), gallery, gallery[3], 3, shortlist=5)
    assert top[0] == 3


@pytest.mark.parametrize("n, depths", [(3000, (10, 100)), (20000, (1000,))])
def test_the_query_runner_searches_codes_from_compact_from_and_returns_exact_results(monkeypatch, tmp_path, n, depths):
    """Above COMPACT_FROM items a Neighbours query goes through int8 codes + a re-ranked shortlist (here
    smaller than the collection): its results, with or without a kind filter, an item query's own item left
    out, down to k = MAX_K, are the exact ones with exact scores."""
    from indexing.query import runner as query_runner
    from indexing.query.runner import Context, Snapshot, run
    from indexing.query.specs import MAX_K, NeighboursQuery, QueryError, Source
    from indexing.store.chroma import Record

    gallery = clustered(n, 64, 3)
    records = [Record(f"id{i}", "image" if i % 3 else "text", "", None) for i in range(len(gallery))]

    def answer(compact_from: int, spec: NeighboursQuery, k=None):
        monkeypatch.setattr(query_runner, "COMPACT_FROM", compact_from)
        snapshot = Snapshot(records, gallery)
        results = run(spec, Context(None, snapshot, tmp_path), k)
        assert (snapshot.compact is not None) == (compact_from <= len(gallery))
        return results.rankings()["clip"]

    assert max(query_runner.SHORTLIST, 4 * (max(depths) + 1)) < n  # the shortlist leaves items out
    for item in ("id7", f"id{n // 2}", f"id{n - 1}"):
        for kind in (None, "image", "text"):
            for depth in depths:
                spec = NeighboursQuery(Source(item=item), k=10, kind=kind)
                compact, exact = answer(1000, spec, depth), answer(10**9, spec, depth)
                assert [i for i, _ in compact] == [i for i, _ in exact] and item not in dict(compact)
                assert np.allclose([s for _, s in compact], [s for _, s in exact], atol=1e-6)
    with pytest.raises(QueryError, match="k must be"):
        answer(1000, NeighboursQuery(Source(item="id7")), MAX_K + 1)


def test_a_query_is_placed_on_the_map_from_the_compact_scores_where_the_exact_ones_put_it():
    from indexing.store.compact import cosines
    from indexing.maps.projection import locate, place

    gallery = clustered(3000, 64, 4)
    coords = np.random.default_rng(0).normal(size=(len(gallery), 2)).astype(np.float32)
    query = clustered(1, 64, 5)[0]
    scores = cosines(Int8Vectors(gallery), gallery, query, shortlist=200)
    assert np.allclose(locate(None, coords, scores), place(query, gallery, coords)[0], atol=1e-5)
