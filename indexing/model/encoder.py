"""The open_clip encoder: a model with its own preprocessing and tokenizer, L2-normalised float32 out."""
from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import open_clip
import torch
from PIL import Image

from indexing.model.zoo import ModelSpec, ModelUnavailable, loadable_here, weights_reachable

log = logging.getLogger(__name__)


def pick_device(setting: str = "auto") -> str:
    """The torch device for ``SIMLAB_DEVICE``: auto is CUDA when present; asking for CUDA without it is an error."""
    if setting == "cuda" and not torch.cuda.is_available():
        raise ModelUnavailable("SIMLAB_DEVICE=cuda, but PyTorch sees no CUDA device (torch.cuda.is_available() is "
                               "False): set SIMLAB_DEVICE=auto or cpu, or install a CUDA build of torch.")
    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return setting


class Encoder:
    """Encodes images and texts into one normalised space; batched. On CUDA: half precision (autocast) and
    batches copied from pinned memory without blocking."""

    def __init__(self, spec: ModelSpec, device: str | None = None, batch_size: int = 32):
        self.spec = spec
        self.device = pick_device(device or "auto")
        self.batch_size = batch_size
        self.model, self.preprocess = _create(spec, self.device)
        self.model.eval()
        self.tokenizer = open_clip.get_tokenizer(spec.name)
        self.context_length = int(getattr(self.tokenizer, "context_length", 77))
        self.image_size = _image_size(self.preprocess)
        with torch.no_grad():
            self.dim = int(self.encode_texts(["probe"]).shape[1])

    def _run(self, fn, batch: torch.Tensor) -> np.ndarray:
        cuda = self.device == "cuda"
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.float16, enabled=cuda):
            if cuda:  # pinned (by the ingest's decode threads, else here) so the copy need not block
                batch = (batch if batch.is_pinned() else batch.pin_memory()).to(self.device, non_blocking=True)
            out = fn(batch)
        out = torch.nn.functional.normalize(out.float(), dim=-1)
        return out.cpu().numpy().astype(np.float32)

    def preprocess_images(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """The model's own preprocessing, stacked into one batch tensor."""
        return torch.stack([self.preprocess(im) for im in images])

    def encode_pixels(self, pixels: torch.Tensor) -> np.ndarray:
        """Encode already preprocessed images (N, 3, H, W)."""
        chunks = [self._run(self.model.encode_image, pixels[i:i + self.batch_size])
                  for i in range(0, len(pixels), self.batch_size)]
        return np.concatenate(chunks) if chunks else np.zeros((0, self.dim), np.float32)

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """Encode RGB images; returns (N, dim) unit vectors."""
        if not images:
            return np.zeros((0, self.dim), np.float32)
        return self.encode_pixels(self.preprocess_images(images))

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Encode texts (truncated to the model's context); returns (N, dim) unit vectors."""
        if not texts:
            return np.zeros((0, getattr(self, "dim", 0)), np.float32)
        chunks = [self._run(self.model.encode_text, self.tokenizer(list(texts[i:i + self.batch_size])))
                  for i in range(0, len(texts), self.batch_size)]
        return np.concatenate(chunks)

    def is_truncated(self, text: str) -> bool:
        """Whether ``text`` is longer than the model's context and will be cut."""
        encode = getattr(self.tokenizer, "encode", None)
        if encode is None:
            return False
        return len(encode(text)) + 2 > self.context_length  # + start and end tokens


def _create(spec: ModelSpec, device: str):
    if not weights_reachable(spec):  # fail in seconds, not after a minute of download retries
        raise ModelUnavailable(f"Cannot load {spec.label}: its weights are not in the local cache and the model hub "
                               f"cannot be reached (offline?). Loadable here: {'; '.join(loadable_here())}.")
    spec.register()
    try:
        # Random init is seeded, so every process gets the same "random" model and vectors stay comparable.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model, _, preprocess = open_clip.create_model_and_transforms(spec.name, pretrained=spec.pretrained,
                                                                         device=device)
    except Exception as exc:  # open_clip raises many kinds here (network, hub, file); all mean "not loadable"
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        options = "; ".join(loadable_here())
        raise ModelUnavailable(f"Cannot load {spec.label}: {reason}. Offline? Loadable here: {options}.") from exc
    return model, preprocess


def _image_size(preprocess) -> int:
    for t in getattr(preprocess, "transforms", []):
        size = getattr(t, "size", None)
        if size:
            return int(size if isinstance(size, int) else size[0])
    return 224
