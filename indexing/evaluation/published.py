"""What the public-benchmark readers share: reading the published files, and encoding each image once.

The readers (``genecis``, ``cirr``, ``fashioniq``) run the annotation files exactly as their authors
publish them; images are laid out as each benchmark's own loaders expect and are never bundled.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from tqdm import tqdm

from indexing.model.encoder import Encoder
from indexing.ingest.media import MAX_IMAGE_BYTES, inside, open_image, read_bounded
from indexing.core.errors import SimLabError


class BenchmarkDataError(SimLabError, ValueError):
    """A benchmark file or image missing or malformed; the message names it and the layout expected."""


def load_json(path: Path, layout: str) -> Any:
    """The parsed file; a missing or broken file is a one-line error that says where it should be."""
    if not path.is_file():
        raise BenchmarkDataError(f"{path} not found ({layout}).")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BenchmarkDataError(f"{path} is not the published JSON ({exc}).") from None


def image_under(root: Path, relative: str, layout: str) -> Path:
    """``root / relative``, refused in one line when it would leave ``root`` ('../', an absolute path, a link
    out): a benchmark file names images under its image root and nothing else is read."""
    path = inside(root, relative)
    if path is None:
        raise BenchmarkDataError(f"image {relative[:120]!r} is not under {root}; refused ({layout}).")
    return path


def open_rgb(path: Path, layout: str) -> Image.Image:
    """An image file as RGB; a missing one names the file and the layout the benchmark expects, a file that is
    not an image of an allowed format names the file (never guesses what it is)."""
    if not path.is_file():
        raise BenchmarkDataError(f"{path} not found ({layout}).")
    try:
        image = open_image(read_bounded(path, MAX_IMAGE_BYTES, "image"))  # allowed formats and sizes only
        image.load()
        return image.convert("RGB")
    except Exception:  # a decoder on malformed bytes raises many types: one line, naming the file
        raise BenchmarkDataError(f"{path} is not a readable image ({layout}).") from None


class ImageVectors:
    """Encodes benchmark images once each (by key), in batches, with a terminal progress bar."""

    def __init__(self, encoder: Encoder, load: Callable[[Hashable], Image.Image], batch: int = 64):
        self.encoder, self.load, self.batch = encoder, load, batch
        self.vectors: dict[Hashable, np.ndarray] = {}

    def encode(self, keys: Sequence[Hashable], desc: str = "images") -> None:
        """Encode every key not seen yet (unique, in first-seen order)."""
        todo = list(dict.fromkeys(k for k in keys if k not in self.vectors))
        with tqdm(total=len(todo), unit="image", desc=desc, disable=len(todo) < self.batch) as bar:
            for start in range(0, len(todo), self.batch):
                chunk = todo[start:start + self.batch]
                for key, vector in zip(chunk, self.encoder.encode_images([self.load(k) for k in chunk])):
                    self.vectors[key] = vector
                bar.update(len(chunk))

    def __getitem__(self, keys: Sequence[Hashable]) -> np.ndarray:
        """The (n, d) matrix of these keys' vectors (encoding any that are missing)."""
        self.encode(keys)
        return np.stack([self.vectors[k] for k in keys]) if keys else np.zeros((0, self.encoder.dim), np.float32)


def recall(ranks: Sequence[int], ks: tuple[int, ...], name: str = "R") -> dict[str, float | None]:
    """Share of queries whose target's 0-based rank is below k, per k (None without queries)."""
    r = np.asarray(ranks)
    return {f"{name}@{k}": (round(float((r < k).mean()), 4) if len(r) else None) for k in ks}


def rank_of(scores: np.ndarray, target: int) -> int:
    """0-based rank of ``target`` under ``scores`` (ties go against the target: no luck from ordering)."""
    return int((scores > scores[target]).sum() + (np.delete(scores, target) == scores[target]).sum())
