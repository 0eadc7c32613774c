"""Region vectors: what each part of an image looks like, in the joint space, so a text or a part of another
image can match one part of it.

The image tower's last feature map is read through its pooling's value path (MaskCLIP, as for the "Why?"
heatmaps) and averaged to a ``GRID`` × ``GRID`` grid of unit vectors (overlapping windows where the map is
not a multiple of the grid). A ResNet tower is read at 5 × its stride (a 5 × 5 map, 160 px for the 96 px
bundled model: at the native 3 × 3 the middle column mixes a scene's left and right objects, and from 7 × 7
on the map's cells see too little of an object); a ViT at its input size (7 × 7 patches for ViT-B-32).
Chosen on the shapes world's two-object scenes (``evaluate --task region``, seeds 2,002,468, 2,003,579,
2,004,680 and 3,000,007: region nDCG@10 0.86-0.90 read at 5, 0.79-0.83 at 6, 0.82 at 4, 0.63-0.76 from 7).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from indexing.core.errors import InputError
from indexing.model.encoder import Encoder
from indexing.model.explain import RESNET_STRIDE, dense_kind, pixels_of, resnet_tokens, vit_tokens

GRID = 4  # regions per side: 16 per image
RESNET_READ = 5  # a ResNet tower is read at RESNET_READ × its stride (160 px), then pooled to GRID
READING = f"maskclip grid {GRID} resnet x{RESNET_READ}"  # stored with the vectors: another reading makes them stale


def regions_available(encoder: Encoder) -> bool:
    """Whether the model's image tower has the dense path region vectors are read from (ResNet or plain ViT)."""
    return dense_kind(encoder.model.visual) is not None


@torch.no_grad()
def region_vectors(encoder: Encoder, images: Sequence[Image.Image]) -> np.ndarray:
    """(len(images), GRID², dim) unit vectors, row-major from the top-left cell."""
    visual = encoder.model.visual
    kind = dense_kind(visual)
    if kind is None:
        raise InputError(f"{encoder.spec.label} has no dense path ({type(visual).__name__}): region search needs "
                         "a ResNet or ViT image tower.")
    if not images:
        return np.zeros((0, GRID * GRID, encoder.dim), np.float32)
    out = []
    for start in range(0, len(images), encoder.batch_size):
        batch = images[start:start + encoder.batch_size]
        if kind == "resnet":
            side = RESNET_READ * RESNET_STRIDE
            tokens = resnet_tokens(visual, torch.cat([pixels_of(encoder, im, side) for im in batch]))
        else:
            tokens = vit_tokens(visual, torch.cat([pixels_of(encoder, im, encoder.image_size) for im in batch]))
        pooled = F.adaptive_avg_pool2d(tokens.permute(0, 3, 1, 2), GRID)  # (b, dim, GRID, GRID)
        out.append(F.normalize(pooled.flatten(2).transpose(1, 2), dim=-1).float().cpu().numpy())
    return np.concatenate(out).astype(np.float32)


def cells_in(box: tuple[float, float, float, float]) -> list[int]:
    """The grid cells a box (x0, y0, x1, y1, fractions of the side) covers at least half of, row-major;
    ``InputError`` for a box outside the image or smaller than one region."""
    x0, y0, x1, y1 = box
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in box):
        raise InputError("A box is four numbers: x0, y0, x1, y1 as fractions of the image's width and height.")
    if not (0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1):
        raise InputError(f"The box ({x0:g}, {y0:g}, {x1:g}, {y1:g}) is not inside the image: draw it on the picture "
                         "(fractions from 0 to 1, x0 < x1, y0 < y1).")
    cell = 1.0 / GRID
    if x1 - x0 < cell or y1 - y0 < cell:
        raise InputError(f"The box is smaller than one region (a {GRID}×{GRID} grid: each region is {cell:.0%} of the "
                         "side); draw a larger box.")
    cells = []
    for r in range(GRID):
        for c in range(GRID):
            w = max(0.0, min(x1, (c + 1) * cell) - max(x0, c * cell))
            h = max(0.0, min(y1, (r + 1) * cell) - max(y0, r * cell))
            if w * h >= 0.5 * cell * cell:
                cells.append(r * GRID + c)
    if not cells:  # a box across cell borders covering no cell by half: take the one it covers most
        overlap = [(max(0.0, min(x1, (c + 1) * cell) - max(x0, c * cell)) *
                    max(0.0, min(y1, (r + 1) * cell) - max(y0, r * cell)), r * GRID + c)
                   for r in range(GRID) for c in range(GRID)]
        cells = [max(overlap)[1]]
    return cells


def cell_box(cell: int) -> tuple[float, float, float, float]:
    """A grid cell's box (x0, y0, x1, y1) as fractions of the side."""
    r, c = divmod(cell, GRID)
    return c / GRID, r / GRID, (c + 1) / GRID, (r + 1) / GRID
