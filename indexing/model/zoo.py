"""Which open_clip model to load: names, config files, the bundled model and ``auto``.

A model is always an open_clip model; this module only decides *which* one, and says why.
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

import open_clip

from indexing.core.errors import SimLabError

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
BUNDLED_NAME = "simlab-shapes"
BUNDLED_CONFIG = MODELS_DIR / f"{BUNDLED_NAME}.json"
BUNDLED_WEIGHTS = MODELS_DIR / f"{BUNDLED_NAME}.safetensors"
PRETRAINED_NAME, PRETRAINED_TAG = "ViT-B-32", "laion2b_s34b_b79k"
AUTO = "auto"


class ModelUnavailable(SimLabError, RuntimeError):
    """The requested model or its weights cannot be loaded here; the message says what can."""


@dataclass(frozen=True)
class ModelSpec:
    """A resolved choice: the open_clip name, its weights (tag, file or None) and why it was chosen."""

    name: str
    pretrained: str | None
    reason: str = ""
    config: str | None = None  # the model-config JSON that defines ``name``, for a process that has not read it

    def register(self) -> None:
        """Make ``name`` known to open_clip in this process (a Ray worker, a map job) when a config file defines it."""
        if self.config and self.name not in open_clip.list_models():
            open_clip.add_model_config(self.config)

    @property
    def label(self) -> str:
        weights = Path(self.pretrained).name if self.pretrained and os.sep in self.pretrained else self.pretrained
        return f"{self.name} ({weights or 'random init'})"

    @property
    def key(self) -> str:
        """A stable id of model + weights, used to name the store collection."""
        weights = Path(self.pretrained).stem if self.pretrained and os.sep in self.pretrained else self.pretrained
        return f"{self.name}-{weights or 'random'}"


def register_bundled_config() -> None:
    """Make ``simlab-shapes`` known to open_clip (idempotent)."""
    if BUNDLED_NAME not in open_clip.list_models():
        open_clip.add_model_config(BUNDLED_CONFIG)


def resolve_model(model: str, pretrained: str | None = None) -> ModelSpec:
    """Turn the ``SIMLAB_MODEL`` / ``SIMLAB_PRETRAINED`` settings into a ``ModelSpec``.

    ``model`` is an open_clip name, a path to a model-config JSON, ``simlab-shapes`` or ``auto``;
    ``pretrained`` is a tag, a checkpoint path, ``none`` (random init) or empty (the default).
    """
    if pretrained is not None and pretrained.strip().lower() in {"none", "random"}:
        weights: str | None = None
    else:
        weights = pretrained or None
    if model == AUTO:
        return _resolve_auto()
    if model == BUNDLED_NAME:
        register_bundled_config()
        if pretrained is None or pretrained == "":
            if not BUNDLED_WEIGHTS.exists():
                raise ModelUnavailable(f"The bundled weights {BUNDLED_WEIGHTS} are missing; "
                                       "train them with `python -m indexing.shapes.train` or set SIMLAB_PRETRAINED=none.")
            weights = str(BUNDLED_WEIGHTS)
        return ModelSpec(BUNDLED_NAME, weights, "bundled offline model", str(BUNDLED_CONFIG))
    if model.endswith(".json"):
        path = Path(model)
        if not path.is_file():
            raise ModelUnavailable(f"Model config {model} does not exist; give a path to an open_clip model-config JSON.")
        open_clip.add_model_config(path)
        return ModelSpec(path.stem, weights, f"config file {path}", str(path.resolve()))
    if model not in open_clip.list_models():
        raise ModelUnavailable(f"Unknown model {model!r}; see open_clip.list_models(), "
                               f"or use {BUNDLED_NAME!r} or a model-config JSON path.")
    if pretrained is None or pretrained == "":
        weights = PRETRAINED_TAG if model == PRETRAINED_NAME else _first_tag(model)
    return ModelSpec(model, weights, "SIMLAB_MODEL")


def _first_tag(model: str) -> str | None:
    tags = open_clip.list_pretrained_tags_by_model(model)
    return tags[0] if tags else None


def pretrained_cached(name: str = PRETRAINED_NAME, tag: str = PRETRAINED_TAG) -> bool:
    """Whether open_clip's weights for (name, tag) are already on disk (Hugging Face or URL cache)."""
    from huggingface_hub import try_to_load_from_cache

    cfg = open_clip.get_pretrained_cfg(name, tag)
    repo = cfg.get("hf_hub", "").rstrip("/")
    if repo:
        return any(isinstance(try_to_load_from_cache(repo, f), str)
                   for f in ("open_clip_model.safetensors", "open_clip_pytorch_model.bin"))
    url = cfg.get("url", "")
    return bool(url) and (Path.home() / ".cache" / "clip" / Path(url).name).exists()


def weights_reachable(spec: ModelSpec) -> bool:
    """Whether ``spec``'s weights can be loaded now: a local file, none, cached, or the hub answers."""
    if spec.pretrained is None or Path(spec.pretrained).is_file():
        return True
    return pretrained_cached(spec.name, spec.pretrained) or hub_reachable()


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face hub answers within ``timeout`` seconds (and offline mode is off)."""
    if os.environ.get("HF_HUB_OFFLINE", "0") not in {"", "0", "false", "False"}:
        return False
    host = os.environ.get("HF_ENDPOINT", "https://huggingface.co").split("//")[-1].split("/")[0]
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _resolve_auto() -> ModelSpec:
    if pretrained_cached():
        return ModelSpec(PRETRAINED_NAME, PRETRAINED_TAG, "auto: pretrained weights found in the local cache")
    if hub_reachable():
        return ModelSpec(PRETRAINED_NAME, PRETRAINED_TAG, "auto: pretrained weights can be downloaded")
    spec = resolve_model(BUNDLED_NAME)
    return ModelSpec(spec.name, spec.pretrained, "auto: no cached ViT-B-32 weights and the hub is unreachable, "
                     "so the bundled offline model", spec.config)


def loadable_here() -> list[str]:
    """What can be loaded without a network, for error messages."""
    options = []
    if BUNDLED_WEIGHTS.exists():
        options.append(f"SIMLAB_MODEL={BUNDLED_NAME} (bundled, offline)")
    if pretrained_cached():
        options.append(f"SIMLAB_MODEL={PRETRAINED_NAME} SIMLAB_PRETRAINED={PRETRAINED_TAG} (in the local cache)")
    options.append("any open_clip model with SIMLAB_PRETRAINED=none (random weights, for tests)")
    options.append("SIMLAB_PRETRAINED=/path/to/checkpoint for weights you have on disk")
    return options
