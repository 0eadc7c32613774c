"""The Chroma store: one collection per model, dimension checks, batches within the client's limit."""
import numpy as np
import pytest

from indexing.core.settings import load_settings
from indexing.store.chroma import DimensionMismatch, Record, Store, StoreUnavailable, collection_name, open_client


def unit(rows: int, dim: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def records(n: int) -> list[Record]:
    return [Record(f"txt-{i:04d}", "text", "t.txt", f"text {i}", {"n": str(i)}) for i in range(n)]


def test_models_get_separate_collections(env):
    client = open_client(load_settings())
    a, b = Store(client, "model-a", "A", 8), Store(client, "model-b", "B", 8)
    a.upsert(records(3), unit(3, 8))
    assert a.count() == 3 and b.count() == 0 and a.name != b.name


def test_wrong_dimension_is_refused_with_message(env):
    store = Store(open_client(load_settings()), "m", "M", 8)
    with pytest.raises(DimensionMismatch, match="16-d but collection"):
        store.upsert(records(1), unit(1, 16))
    assert store.count() == 0


def test_existing_collection_with_other_dimension_is_refused(env):
    client = open_client(load_settings())
    store = Store(client, "m", "M", 8)
    client.get_collection(store.name).modify(metadata={"model": "M", "dim": 4})
    with pytest.raises(DimensionMismatch, match="holds 4-d vectors"):
        Store(client, "m", "M", 8)


def test_upserts_are_batched_to_the_client_limit(env):
    store = Store(open_client(load_settings()), "m", "M", 4)
    store.max_batch = 7
    calls = []
    real = store.collection.upsert
    store.collection.upsert = lambda **kw: (calls.append(len(kw["ids"])), real(**kw))
    store.upsert(records(20), unit(20, 4))
    assert calls == [7, 7, 6] and store.count() == 20
    store.upsert(records(20), unit(20, 4, seed=1))  # same ids: updated, not duplicated
    assert store.count() == 20


def test_query_scores_are_one_minus_cosine_distance(env):
    store = Store(open_client(load_settings()), "m", "M", 4)
    vectors = np.eye(4, dtype=np.float32)
    store.upsert(records(4), vectors)
    hits = store.query(vectors[2], 4)
    assert hits[0].id == "txt-0002" and hits[0].score == pytest.approx(1.0)
    assert hits[1].score == pytest.approx(0.0, abs=1e-6)


def test_collection_names_are_valid():
    name = collection_name("hf-hub:org/Some Model@v1 (x)", 512)
    assert name.startswith("simlab-") and name.endswith("-512d") and " " not in name and "/" not in name


def test_unreachable_server_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("CHROMA_PORT", "9")  # discard port: nothing listens
    with pytest.raises(StoreUnavailable, match="Check that the Chroma server is running"):
        open_client(load_settings())
