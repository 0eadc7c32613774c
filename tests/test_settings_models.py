"""Settings from the environment and model resolution, including what happens offline."""
import pytest

from indexing.model.encoder import Encoder
from indexing.model.zoo import BUNDLED_NAME, ModelSpec, ModelUnavailable, resolve_model
from indexing.core.settings import load_settings


def test_defaults():
    s = load_settings({})
    assert str(s.data_dir) == "simlab-data" and s.model == "auto" and s.chroma_host is None
    assert "embedded chroma" in s.store_location


def test_chroma_headers_and_token():
    s = load_settings({"CHROMA_HOST": "db", "CHROMA_HEADERS": '{"X-Key": "k"}', "CHROMA_TOKEN": "t"})
    assert s.headers == {"X-Key": "k", "Authorization": "Bearer t"}
    assert "http://db:8000" in s.store_location
    assert "t" not in dict(s.as_rows())["CHROMA_HEADERS / CHROMA_TOKEN"].split(", ")


@pytest.mark.parametrize("env, message", [
    ({"CHROMA_HEADERS": "[1, 2]"}, "JSON object"), ({"CHROMA_PORT": "eighty"}, "whole numbers"),
    ({"SIMLAB_DEVICE": "tpu"}, "auto, cpu, cuda"), ({"SIMLAB_DECODE_WORKERS": "many"}, "whole numbers")])
def test_bad_settings_say_which(env, message):
    with pytest.raises(ValueError, match=message):
        load_settings(env)


def test_unknown_model_names_the_way_out():
    with pytest.raises(ModelUnavailable, match="list_models"):
        resolve_model("ViT-Imaginary-99")


def test_missing_config_file():
    with pytest.raises(ModelUnavailable, match="does not exist"):
        resolve_model("/nowhere/model.json")


def test_pretrained_none_means_random_init():
    spec = resolve_model("ViT-B-32", "none")
    assert spec.pretrained is None and spec.label == "ViT-B-32 (random init)"


def test_bundled_model_uses_its_weights_file():
    spec = resolve_model(BUNDLED_NAME)
    assert spec.name == BUNDLED_NAME and spec.pretrained.endswith("simlab-shapes.safetensors")


def test_offline_pretrained_download_fails_plainly(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.raises(ModelUnavailable) as info:
        Encoder(ModelSpec("ViT-B-32", "laion2b_s34b_b79k"))
    message = str(info.value)
    assert "Cannot load ViT-B-32 (laion2b_s34b_b79k)" in message and "Loadable here" in message and "\n" not in message


def test_auto_falls_back_to_the_bundled_model_offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # an empty cache
    spec = resolve_model("auto")
    assert spec.name == BUNDLED_NAME and "bundled offline model" in spec.reason and "unreachable" in spec.reason


def test_the_device_setting_picks_cpu_here_and_refuses_cuda_plainly(monkeypatch):
    import torch

    from indexing.model.encoder import pick_device
    from indexing.ingest.pipeline import default_workers

    assert load_settings({"SIMLAB_DEVICE": " CUDA "}).device == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto") == "cpu" and pick_device("cpu") == "cpu"
    with pytest.raises(ModelUnavailable, match="SIMLAB_DEVICE=cuda.*no CUDA device.*auto or cpu"):
        pick_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device("auto") == "cuda"
    assert default_workers("cpu") == 1 and default_workers("cuda") >= 1
