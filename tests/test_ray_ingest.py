"""``--engine ray``: the ingest plan on a local Ray cluster, writing to a real `chroma run` server."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import ray  # in requirements.txt: a missing Ray fails here rather than skipping

from benchmarks.servers import free_port, start_chroma, stop
from indexing.ingest import ray_pipeline as ray_ingest
from indexing.model.encoder import Encoder
from indexing.lab import open_lab
from indexing.model.zoo import resolve_model
from indexing.core.settings import load_settings
from indexing.ingest.sources import plan_paths
from tests.conftest import REPO, image_bytes, tiny_env

pytestmark = pytest.mark.slow


def folder(root: Path) -> Path:
    """24 distinct images (4 of them in a zip), a copy of one, a broken JPEG and its copy, a text file with a
    blank line."""
    root.mkdir()
    for i in range(20):
        (root / f"shade-{i:02d}.png").write_bytes(image_bytes((i * 10, 255 - i * 10, (i * 37) % 256)))
    with zipfile.ZipFile(root / "more.zip", "w") as archive:
        for i in range(20, 24):
            archive.writestr(f"shade-{i:02d}.png", image_bytes((i * 10, 255 - i * 10, (i * 37) % 256)))
    (root / "copy-of-shade-03.png").write_bytes((root / "shade-03.png").read_bytes())
    (root / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    (root / "z-broken-copy.jpg").write_bytes(b"\xff\xd8 not a jpeg")  # a copy of a bad file: a duplicate, as in plain
    (root / "notes.txt").write_text("a red square\n\nthe sea at night\n")
    return root


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(REPO)}})
    yield
    ray.shutdown()


@pytest.fixture
def server(tmp_path, monkeypatch, env):
    port = free_port()
    proc = start_chroma(tmp_path / "chroma-server", port)
    monkeypatch.setenv("CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("CHROMA_PORT", str(port))
    yield port
    stop(proc)


def counts(summary: dict) -> dict:
    return {k: summary[k] for k in ("added", "skipped", "failed", "blank", "truncated")}


def test_ray_stores_what_the_plain_engine_stores_and_a_rerun_adds_nothing(cluster, server, tiny_encoder, tmp_path):
    files = folder(tmp_path / "files")
    plain = open_lab(load_settings({**tiny_env(tmp_path / "plain")}), encoder=tiny_encoder)  # embedded store
    expected = plain.ingest(plan_paths([files])).as_dict()
    on_ray = open_lab(load_settings(), encoder=tiny_encoder)  # the chroma run server
    assert "chroma server" in on_ray.stats()["store"]
    got = on_ray.ingest(plan_paths([files]), engine="ray").as_dict()
    assert counts(got) == counts(expected) == {"added": 26, "skipped": 2, "failed": 1, "blank": 1, "truncated": 0}
    assert [e["source"] for e in got["errors"]] == [e["source"] for e in expected["errors"]]
    assert "broken.jpg" in got["errors"][0]["source"] and got["errors"][0]["reason"]
    assert sorted(on_ray.store.ids()) == sorted(plain.store.ids())
    ray_records, ray_vectors = on_ray.store.all()
    plain_vectors = dict(zip([r.id for r in plain.store.all()[0]], plain.store.all()[1]))
    assert all(abs(ray_vectors[i] - plain_vectors[r.id]).max() < 1e-4 for i, r in enumerate(ray_records))
    assert all(on_ray.blobs.thumb_path(r.id).exists() for r in ray_records if r.kind == "image")
    again = on_ray.ingest(plan_paths([files]), engine="ray").as_dict()
    assert again["added"] == 0 and again["skipped"] == 28 and on_ray.store.count() == 26


def _encode_workers() -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if b"_Encode" in (proc / "cmdline").read_bytes():
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


def test_a_worker_killed_mid_job_still_stores_every_item_once(cluster, server, tmp_path, monkeypatch):
    files = folder(tmp_path / "files")
    for i in range(24, 64):
        (files / f"shade-{i:02d}.png").write_bytes(image_bytes((i * 2, i, 255 - i * 2)))
    # A model slow enough here (ViT-B-32, random weights: ~20 images/s) and small batches: the kill lands mid-job.
    monkeypatch.setenv("SIMLAB_BATCH", "4")
    monkeypatch.setattr(ray_ingest, "BLOCK", 8)  # the encoding actor's output streams back 8 items at a time
    lab = open_lab(load_settings(), encoder=Encoder(resolve_model("ViT-B-32", "none"), "cpu", batch_size=4))
    killed: list[int] = []
    after: set[int] = set()

    def kill_once(done: int, total: int) -> None:
        if done and not killed:
            killed.extend(_encode_workers())
            for pid in killed:
                os.kill(pid, signal.SIGKILL)
        elif killed and done < total:
            after.update(_encode_workers())

    summary = lab.ingest(plan_paths([files]), kill_once, engine="ray").as_dict()
    assert killed, "no encoding worker was found to kill"
    assert after - set(killed), "no restarted encoding worker took over: the kill did not land mid-job"
    assert counts(summary) == {"added": 66, "skipped": 2, "failed": 1, "blank": 1, "truncated": 0}
    ids = lab.store.ids()
    assert len(ids) == len(set(ids)) == 66 == lab.store.count()


def test_the_command_line_runs_on_a_local_cluster_it_starts(server, tmp_path):
    files = folder(tmp_path / "files")
    env = {**tiny_env(tmp_path / "data"), "CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": str(server)}
    out = subprocess.run([sys.executable, "-m", "indexing", "ingest", str(files), "--engine", "ray"], env=env,
                         cwd=REPO, capture_output=True, text=True, timeout=600)
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert out.returncode == 1  # one bad file: partial, as with the plain engine
    assert counts(summary) == {"added": 26, "skipped": 2, "failed": 1, "blank": 1, "truncated": 0}


def test_an_address_where_nothing_listens_is_refused_at_once(tmp_path):
    env = tiny_env(tmp_path / "data")
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "indexing", "ingest", str(folder(tmp_path / "files")), "--engine",
                          "ray", "--ray-address", "127.0.0.1:1"], env=env, cwd=REPO, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2 and out.stderr.strip().splitlines()[-1].startswith("error: Nothing answers at 127.0.0.1:1")
    assert time.perf_counter() - started < 60  # was over 330 s


def test_an_address_that_is_not_ray_is_given_up_on_within_the_connect_time(tmp_path):
    """A port that accepts connections but is no Ray head (an HTTP server): Ray retries for minutes; SimLab
    waits ``CONNECT_S`` (3 s here), says so in one line, and the process exits."""
    port = free_port()
    http = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        probe = f"import indexing.ingest.ray_pipeline as r\nr.CONNECT_S = 3\nr._start('127.0.0.1:{port}')\n"
        started = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120)
        assert out.returncode == 2, out.stderr[-500:]
        assert out.stderr.strip().splitlines()[-1].startswith(f"error: No Ray cluster answered at 127.0.0.1:{port} "
                                                              "within 3 s")
        assert time.perf_counter() - started < 60
    finally:
        http.kill()


def test_a_cluster_failing_mid_job_keeps_what_was_stored_and_says_so(cluster, server, tiny_encoder, tmp_path,
                                                                      monkeypatch):
    """A raylet that dies under the job surfaces as a Ray error from the result stream: the summary keeps the
    items written before it and says to run the ingest again (exit 1 on the command line), not an error alone."""
    from ray.data import Dataset
    from ray.exceptions import LocalRayletDiedError

    real = Dataset.iter_batches

    def dies_after_one(self, *args, **kwargs):
        stream = iter(real(self, *args, **kwargs))
        yield next(stream)
        raise LocalRayletDiedError()

    monkeypatch.setattr(Dataset, "iter_batches", dies_after_one)
    lab = open_lab(load_settings(), encoder=tiny_encoder)
    summary = lab.ingest(plan_paths([folder(tmp_path / "files")]), engine="ray").as_dict()
    assert summary["added"] > 0 and summary["added"] == lab.store.count(), summary.get("stopped")
    assert "the Ray cluster failed (LocalRayletDiedError" in summary["stopped"]
    assert f"{summary['added']} new items were stored before that; run the same ingest again" in summary["stopped"]
