"""Server mode: a real `chroma run` started by the test, used through CHROMA_HOST/CHROMA_PORT."""
import pytest

from indexing.shapes.demo import demo_plan
from indexing.labels.label_store import LabelStore
from indexing.lab import open_lab
from indexing.maps.projection import MapCache, MapParams, get_map
from indexing.query.specs import NeighboursQuery, Source
from indexing.core.settings import load_settings
from indexing.store.chroma import StoreUnavailable, open_client
from benchmarks.servers import free_port, start_chroma, stop


@pytest.fixture
def server(tmp_path):
    port = free_port()
    proc = start_chroma(tmp_path / "chroma-server", port)
    yield port, proc
    stop(proc)


@pytest.mark.slow
def test_ingest_search_map_and_labels_through_the_server(server, env, tiny_encoder, monkeypatch, tmp_path):
    port, _ = server
    monkeypatch.setenv("CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("CHROMA_PORT", str(port))
    settings = load_settings()
    lab = open_lab(settings, encoder=tiny_encoder)
    assert "chroma server" in lab.stats()["store"]
    summary = lab.ingest(demo_plan(20, seed=4))
    assert summary.failed == 0 and lab.store.count() == summary.added
    hits = lab.run(NeighboursQuery(Source(text="a red circle"), k=5, kind="image")).hits()
    assert len(hits) == 5 and hits == sorted(hits, key=lambda h: -h.score)
    records, vectors = lab.vectors()
    projection, fitted = get_map(MapCache(settings.data_dir), lab.store.name, [r.id for r in records], vectors,
                                 MapParams())
    assert fitted and projection.coords.shape == (len(records), 2)
    labels = LabelStore(settings.data_dir)
    labels.judge("q1", hits[0].id, "ann", 2)
    # the data lives in the server: a fresh client sees it
    again = open_lab(settings, encoder=tiny_encoder)
    assert again.store.count() == lab.store.count()


@pytest.mark.slow
def test_server_down_is_plain_and_judgments_survive(server, env, tiny_encoder, monkeypatch):
    port, proc = server
    monkeypatch.setenv("CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("CHROMA_PORT", str(port))
    settings = load_settings()
    labels = LabelStore(settings.data_dir)
    labels.judge("q1", "img-x", "ann", 3)
    proc.terminate()
    proc.wait(timeout=30)
    with pytest.raises(StoreUnavailable, match="Check that the Chroma server is running"):
        open_client(settings)
    assert [j.rel for j in LabelStore(settings.data_dir).judgments("q1")] == [3]


@pytest.mark.slow
def test_server_restart_keeps_items_map_cache_and_judgments(env, tiny_encoder, monkeypatch, tmp_path):
    port, path = free_port(), tmp_path / "chroma-server"
    monkeypatch.setenv("CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("CHROMA_PORT", str(port))
    settings = load_settings()
    proc = start_chroma(path, port)
    try:
        lab = open_lab(settings, encoder=tiny_encoder)
        lab.ingest(demo_plan(20, seed=5))
        records, vectors = lab.vectors()
        _, fitted = get_map(MapCache(settings.data_dir), lab.store.name, [r.id for r in records], vectors, MapParams())
        LabelStore(settings.data_dir).judge("q1", records[0].id, "ann", 2)
    finally:
        stop(proc)
    proc = start_chroma(path, port)
    try:
        again = open_lab(settings, encoder=tiny_encoder)
        records2, vectors2 = again.vectors()
        before, after = dict(zip((r.id for r in records), vectors)), dict(zip((r.id for r in records2), vectors2))
        assert sorted(after) == sorted(before) and all((after[i] == before[i]).all() for i in before)
        projection, refitted = get_map(MapCache(settings.data_dir), again.store.name, [r.id for r in records2],
                                       vectors2, MapParams())
        assert fitted and not refitted and projection.coords.shape == (len(records), 2)  # the cached map, not a refit
        assert [(j.item_id, j.rel) for j in LabelStore(settings.data_dir).judgments("q1")] == [(records[0].id, 2)]
    finally:
        stop(proc)


@pytest.mark.slow
def test_the_app_says_the_server_is_down_and_recovers_when_it_returns(env, monkeypatch, tmp_path):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import REPO

    port, path = free_port(), tmp_path / "chroma-server"
    monkeypatch.setenv("CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("CHROMA_PORT", str(port))
    proc = start_chroma(path, port)
    try:
        open_lab(load_settings()).ingest(demo_plan(12, seed=6))
        at = AppTest.from_file(str(REPO / "pages" / "2_Neighbours.py"), default_timeout=300).run()
        at.text_input(key="query_text").input("a red circle").run()
        assert not at.exception and not at.error and "nearest" in at.subheader[0].value
    finally:
        stop(proc)
    at.run()
    assert not at.exception and "is not answering" in at.error[0].value and "Judgments are safe" in at.error[0].value
    proc = start_chroma(path, port)
    try:
        at.run()
        assert not at.exception and not at.error and "nearest" in at.subheader[0].value
    finally:
        stop(proc)


def cloud_env(monkeypatch, port: int, **extra: str) -> None:
    """Chroma Cloud settings pointed at a local `chroma run` (its HTTP API is the Cloud's; no network here)."""
    for key, value in {"CHROMA_API_KEY": "test-key", "CHROMA_CLOUD_HOST": "127.0.0.1", "CHROMA_CLOUD_PORT": str(port),
                       "CHROMA_CLOUD_SSL": "0", **extra}.items():
        monkeypatch.setenv(key, value)


def test_chroma_cloud_settings_build_a_cloud_client(server, env, tiny_encoder, monkeypatch):
    port, _ = server
    cloud_env(monkeypatch, port, CHROMA_TENANT="default_tenant", CHROMA_DATABASE="default_database")
    settings = load_settings()
    assert "test-key" not in repr(settings) and "test-key" not in str(settings.as_rows())  # the key is never shown
    lab = open_lab(settings, encoder=tiny_encoder)
    client_settings = lab.store.client.get_settings()  # what chromadb.CloudClient configures: the key as a token
    assert client_settings.chroma_client_auth_provider.endswith("TokenAuthClientProvider")
    assert client_settings.chroma_client_auth_credentials == "test-key"
    assert lab.stats()["store"].startswith("Chroma Cloud http://127.0.0.1:")
    summary = lab.ingest(demo_plan(10, seed=4))
    assert summary.failed == 0 and lab.store.count() == summary.added
    assert not lab.sync()  # remote: nothing to reopen
    hits = lab.run(NeighboursQuery(Source(text="a red circle"), k=3, kind="image")).hits()
    assert len(hits) == 3


def test_chroma_cloud_errors_are_one_line(env, monkeypatch):
    cloud_env(monkeypatch, free_port())  # nothing listens there
    with pytest.raises(StoreUnavailable, match=r"Cannot open the store \(Chroma Cloud http://127\.0\.0\.1:\d+ .*"
                                               r"CHROMA_API_KEY/CHROMA_TENANT/CHROMA_DATABASE"):
        open_client(load_settings())
    monkeypatch.setenv("CHROMA_HOST", "127.0.0.1")
    with pytest.raises(ValueError, match="CHROMA_HOST .* or CHROMA_API_KEY .*not both"):
        load_settings()
