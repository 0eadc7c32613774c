"""int8 codes for search at scale: a quarter of float32's memory; re-ranking a shortlist restores exact order."""
import numpy as np

from indexing.compact import Int8Vectors, search
from indexing.ranking import rank


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
