"""A collection's vectors live in one memory-mapped file per content, shared by every reader."""
import os
import time
from pathlib import Path

import numpy as np

from indexing.maps.clusters import cluster
from indexing.shapes.demo import demo_plan
from indexing.lab import open_lab
from indexing.maps.jobs import MapJobs
from indexing.maps.projection import MapParams
from indexing.core.settings import load_settings
from indexing.store.vector_files import KEEP_OLD_SECONDS, VectorFiles


def test_the_labs_vectors_are_one_read_only_file_replaced_when_the_content_changes(env, tiny_encoder):
    settings = load_settings()
    lab = open_lab(settings, encoder=tiny_encoder)
    lab.ingest(demo_plan(8, seed=1))
    records, vectors = lab.vectors()
    assert isinstance(vectors, np.memmap) and not vectors.flags.writeable
    files = sorted((settings.data_dir / "vectors").glob("*.npy"))
    assert files == [Path(vectors.filename)]
    other = open_lab(settings, encoder=tiny_encoder)  # another reader of the same content maps the same file
    assert other.vectors()[1].filename == vectors.filename
    np.testing.assert_array_equal(np.asarray(vectors), lab.store.all()[1])

    old = Path(vectors.filename)
    os.utime(old, (time.time() - KEEP_OLD_SECONDS - 1,) * 2)  # long enough ago that no reader is on it
    lab.ingest(demo_plan(12, seed=2))
    grown = lab.vectors()[1]
    assert len(grown) > len(records) and grown.filename != vectors.filename
    assert sorted((settings.data_dir / "vectors").glob("*.npy")) == [Path(grown.filename)]
    assert np.asarray(vectors).shape == (len(records), vectors.shape[1])  # an old mapping still reads


def test_a_recent_older_file_is_kept_and_an_unwritable_folder_leaves_vectors_in_memory(tmp_path):
    files = VectorFiles(tmp_path)
    first = files.share("c", ["a"], np.ones((1, 2), np.float32))
    second = files.share("c", ["a", "b"], np.ones((2, 2), np.float32))
    assert Path(first.filename).exists() and Path(second.filename).exists()  # another process may be on it
    assert files.share("c", ["a"], np.ones((1, 2), np.float32), store="another-store").filename != first.filename
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro" / "vectors").write_text("not a folder")  # nothing can be written there
    kept = VectorFiles(tmp_path / "ro").share("c", ["a"], np.full((1, 2), 3, np.float32))
    assert not isinstance(kept, np.memmap) and kept.tolist() == [[3.0, 3.0]]
    assert list((tmp_path / "ro").iterdir()) == [tmp_path / "ro" / "vectors"]


def test_the_background_map_fit_reads_the_shared_file(env, tiny_encoder):
    settings = load_settings()
    lab = open_lab(settings, encoder=tiny_encoder)
    lab.ingest(demo_plan(30, seed=3))
    records, vectors = lab.vectors()
    jobs, params = MapJobs(settings.data_dir), MapParams()
    jobs.start(lab.store.name, [r.id for r in records], vectors, params)
    assert jobs.wait(lab.store.name, params, timeout=300).error == ""
    assert jobs.cache.load(lab.store.name, params).ids == [r.id for r in records]
    assert len(list((settings.data_dir / "vectors").glob("*.npy"))) == 1  # no second copy was written
    assert not list(jobs.jobs_dir.iterdir())  # the job's input and its link to the vectors are gone


def test_a_collection_whose_name_extends_anothers_keeps_its_file(tmp_path):
    files = VectorFiles(tmp_path)
    a = files.share("shapes", ["x", "y"], np.eye(2, dtype=np.float32))
    b = files.share("shapes-big", ["x"], np.ones((1, 2), np.float32))
    for f in (a, b):
        os.utime(f.filename, (time.time() - KEEP_OLD_SECONDS - 1,) * 2)
    files.share("shapes", ["x", "y", "z"], np.eye(3, 2, dtype=np.float32))
    assert not Path(a.filename).exists() and Path(b.filename).exists()


def test_k_means_past_its_fit_sample_assigns_every_item(monkeypatch):
    import indexing.maps.clusters as clusters

    monkeypatch.setattr(clusters, "FIT_SAMPLE", 40)
    monkeypatch.setattr(clusters, "CHUNK", 64)
    rng = np.random.default_rng(0)
    centres = np.eye(3, 16, dtype=np.float32)
    truth = rng.integers(0, 3, 300)
    vectors = centres[truth] + 0.05 * rng.normal(size=(300, 16)).astype(np.float32)
    found = cluster(vectors, k=3)
    assert sum(found.sizes) == 300 and len(found.labels) == 300
    # each found cluster is exactly one true cluster
    assert all(len(set(truth[found.labels == c])) == 1 for c in range(3))
