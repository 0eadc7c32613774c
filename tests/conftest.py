"""Shared fixtures: a real open_clip model from a tiny config (seeded random weights) and a fresh data dir."""
from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
import torch
from PIL import Image

from indexing.model.encoder import Encoder
from indexing.lab import Lab, open_lab
from indexing.model.zoo import resolve_model
from indexing.core.settings import load_settings
from benchmarks.servers import REPO  # noqa: F401  (one definition, shared with the server helpers)

FIXTURES = Path(__file__).parent / "fixtures"
TINY_CONFIG = FIXTURES / "tiny-clip.json"


def tiny_env(data_dir: Path) -> dict[str, str]:
    """Environment for a SimLab process using the tiny model and ``data_dir``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIMLAB_", "CHROMA_"))}
    env.update(SIMLAB_DATA=str(data_dir), SIMLAB_MODEL=str(TINY_CONFIG), SIMLAB_PRETRAINED="none",
               HF_HUB_OFFLINE="1")
    return env


@pytest.fixture(scope="session")
def tiny_encoder() -> Encoder:
    torch.manual_seed(0)
    return Encoder(resolve_model(str(TINY_CONFIG), "none"), batch_size=8)


@pytest.fixture(scope="session")
def shapes_encoder() -> Encoder:
    """The bundled trained model (simlab-shapes), loaded offline."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        return Encoder(resolve_model("simlab-shapes"), batch_size=64)


@pytest.fixture
def env(tmp_path, monkeypatch) -> dict[str, str]:
    """Point SimLab at a fresh data dir and the tiny model, for this test only."""
    values = tiny_env(tmp_path / "data")
    for key in list(os.environ):
        if key.startswith(("SIMLAB_", "CHROMA_")):
            monkeypatch.delenv(key)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


@pytest.fixture
def lab(env, tiny_encoder) -> Lab:
    return open_lab(load_settings(), encoder=tiny_encoder)


def image_bytes(color=(255, 0, 0), size=(64, 48), fmt="PNG", mode="RGB", **save) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, format=fmt, **save)
    return out.getvalue()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Mark a failed test's node, so fixtures (the browser's screenshot) can see it in teardown."""
    outcome = yield
    if outcome.get_result().failed:
        item.failed = True


@pytest.fixture(autouse=True)
def _no_background_fits_left():
    """Background map fits a test started must not keep a core busy during the next tests."""
    yield
    from indexing.maps.jobs import stop_all

    stop_all()
