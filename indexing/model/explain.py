"""Why is this similar? Heatmaps of which regions of an image match a target vector.

Two methods, both on the open_clip model itself:

- ``dense`` (MaskCLIP, Zhou et al. 2022): the image tower's last pooling step applied to every
  position instead of pooling them. For a ``ModifiedResNet`` the attention pool's value and
  output projections act as 1x1 convolutions on the last feature map (the network is
  convolutional, so it is run at the input sizes that end on the grids ``DENSE_GRIDS`` and the
  maps averaged: one coarse grid alone misses small objects by a cell); for a
  ``VisionTransformer`` the value path of the last attention block goes through ``ln_post`` and
  ``proj`` for each patch token. Other towers have no dense path.
- ``occlusion``: how much the image's similarity to the target drops when a window of it is
  greyed out. Model-agnostic (every open_clip model), slower (one forward per window).

A heatmap's values are relative: higher means "matches the target more"; the peak is where it
points.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from indexing.model.encoder import Encoder
from indexing.core.errors import InputError

METHODS = ("dense", "occlusion")
RESNET_STRIDE = 32  # a ModifiedResNet's last feature map is its input / 32 (the bundled model: 3x3 at 96 px)
DENSE_GRIDS = (9, 12, 15, 18)  # read at 288-576 px whatever the native size: fine enough to point, bounded cost
OCCLUSION_GRID = 8  # windows step by 1/8 of the side …
OCCLUSION_WINDOW = 2  # … and cover 2 steps (a quarter of the side)


@dataclass(frozen=True)
class Why:
    """What a result is explained against: a unit vector and the words that say what it is."""

    vector: np.ndarray
    label: str

    @property
    def key(self) -> str:
        """Identifies the target for caches (vectors differ when labels coincide)."""
        return f"{self.label}|{hashlib.sha1(np.asarray(self.vector, np.float32).tobytes()).hexdigest()[:16]}"


@dataclass(frozen=True)
class Heatmap:
    """Match strength on a coarse grid over the whole image (row 0 = top)."""

    values: np.ndarray
    method: str

    def upsampled(self, width: int, height: int) -> np.ndarray:
        """Bilinear upsampling to ``height`` x ``width`` pixels."""
        grid = torch.from_numpy(np.ascontiguousarray(self.values, dtype=np.float32))[None, None]
        return F.interpolate(grid, size=(height, width), mode="bilinear", align_corners=False)[0, 0].numpy()

    def peak(self, resolution: int = 96) -> tuple[float, float]:
        """Where the heatmap points: (x, y) as fractions of the image's width and height."""
        fine = self.upsampled(resolution, resolution)
        row, col = divmod(int(np.argmax(fine)), resolution)
        return (col + 0.5) / resolution, (row + 0.5) / resolution


def dense_method_available(encoder: Encoder) -> bool:
    """Whether the model's image tower has a dense path (ModifiedResNet or a plain ViT)."""
    return dense_kind(encoder.model.visual) is not None


def heatmap(encoder: Encoder, image: Image.Image, target: np.ndarray, method: str = "dense") -> Heatmap:
    """Where ``image`` matches the unit vector ``target`` (a text, image or item embedding)."""
    if method not in METHODS:
        raise InputError(f"Unknown heatmap method {method!r}; choose one of {', '.join(METHODS)}.")
    vector = torch.from_numpy(np.array(target, dtype=np.float32)).to(encoder.device)  # a copy: targets may be read-only maps
    with torch.no_grad():
        if method == "dense":
            tokens = dense_tokens(encoder, image)
            values = (tokens @ vector).cpu().numpy()
        else:
            values = _occlusion(encoder, image, vector)
    return Heatmap(values.astype(np.float32), method)


@torch.no_grad()
def dense_tokens(encoder: Encoder, image: Image.Image) -> torch.Tensor:
    """Unit vectors per position of the last feature map, (rows, cols, dim), in the joint space."""
    visual = encoder.model.visual
    kind = dense_kind(visual)
    if kind is None:
        raise InputError(f"{encoder.spec.label} has no dense path ({type(visual).__name__}); "
                         "use the occlusion method, which works for every model.")
    if kind == "resnet":
        grids = [resnet_tokens(visual, pixels_of(encoder, image, grid * RESNET_STRIDE))[0] for grid in DENSE_GRIDS]
        side = max(g.shape[0] for g in grids)
        resized = [F.interpolate(g.permute(2, 0, 1)[None], size=(side, side), mode="bilinear",
                                 align_corners=False)[0].permute(1, 2, 0) for g in grids]
        return F.normalize(torch.stack(resized).mean(0), dim=-1)
    return vit_tokens(visual, pixels_of(encoder, image, encoder.image_size))[0]


def resnet_tokens(visual, pixels: torch.Tensor) -> torch.Tensor:
    """A ModifiedResNet's last feature map through its attention pool's value path: (batch, rows, cols, dim)."""
    x = visual.stem(pixels)
    for layer in (visual.layer1, visual.layer2, visual.layer3, visual.layer4):
        x = layer(x)
    pool = visual.attnpool
    tokens = F.linear(F.linear(x.flatten(2).transpose(1, 2), pool.v_proj.weight, pool.v_proj.bias),
                      pool.c_proj.weight, pool.c_proj.bias)
    return F.normalize(tokens.float(), dim=-1).reshape(len(pixels), x.shape[2], x.shape[3], -1)


def vit_tokens(visual, pixels: torch.Tensor) -> torch.Tensor:
    """MaskCLIP for a ViT: the last block's value path (no query-key mixing, no MLP) per patch token,
    (batch, rows, cols, dim)."""
    x = visual._embeds(pixels)
    transformer = visual.transformer
    batch_first = getattr(transformer, "batch_first", True)
    x = x if batch_first else x.transpose(0, 1)
    for block in transformer.resblocks[:-1]:
        x = block(x)
    x = x if batch_first else x.transpose(0, 1)
    last = transformer.resblocks[-1]
    width = x.shape[-1]
    values = F.linear(last.ln_1(x), last.attn.in_proj_weight[2 * width:], last.attn.in_proj_bias[2 * width:])
    tokens = visual.ln_post(last.ls_1(last.attn.out_proj(values))[:, 1:]) @ visual.proj  # ls_1: LayerScale
    side = int(round(tokens.shape[1] ** 0.5))
    return F.normalize(tokens.float(), dim=-1).reshape(len(pixels), side, side, -1)


def dense_kind(visual) -> str | None:
    if all(hasattr(visual, a) for a in ("stem", "layer4", "attnpool")) and hasattr(visual.attnpool, "v_proj"):
        return "resnet"
    blocks = getattr(getattr(visual, "transformer", None), "resblocks", None)
    if (blocks is not None and getattr(visual, "attn_pool", None) is None and getattr(visual, "proj", None) is not None
            and isinstance(getattr(blocks[-1], "attn", None), torch.nn.MultiheadAttention)
            and blocks[-1].attn.in_proj_weight is not None and not getattr(visual, "final_ln_after_pool", False)):
        return "vit"
    return None


def _normaliser(encoder: Encoder) -> tuple[torch.Tensor, torch.Tensor]:
    for t in getattr(encoder.preprocess, "transforms", []):
        if hasattr(t, "mean") and hasattr(t, "std"):
            return torch.tensor(t.mean)[:, None, None], torch.tensor(t.std)[:, None, None]
    return torch.zeros(3, 1, 1), torch.ones(3, 1, 1)


def pixels_of(encoder: Encoder, image: Image.Image, side: int) -> torch.Tensor:
    """The whole image (not a centre crop, so the heatmap covers what the card shows) as a square batch of 1."""
    rgb = image.convert("RGB").resize((side, side), Image.Resampling.BICUBIC)
    array = torch.from_numpy(np.asarray(rgb, dtype=np.float32) / 255.0).permute(2, 0, 1)
    mean, std = _normaliser(encoder)
    return ((array - mean) / std)[None].to(encoder.device)


def _occlusion(encoder: Encoder, image: Image.Image, target: torch.Tensor) -> np.ndarray:
    pixels = pixels_of(encoder, image, encoder.image_size)
    side = encoder.image_size
    step = side / OCCLUSION_GRID
    masked = []
    for row in range(OCCLUSION_GRID):
        for col in range(OCCLUSION_GRID):
            copy = pixels.clone()
            y0, x0 = int(row * step - step / 2), int(col * step - step / 2)  # windows centred on the cells
            y1, x1 = int(y0 + OCCLUSION_WINDOW * step), int(x0 + OCCLUSION_WINDOW * step)
            copy[:, :, max(0, y0):y1, max(0, x0):x1] = 0.0  # 0 after normalisation: the dataset's mean colour
            masked.append(copy)
    base = float(F.normalize(encoder.model.encode_image(pixels).float(), dim=-1)[0] @ target)
    drops = []
    for start in range(0, len(masked), encoder.batch_size):
        batch = torch.cat(masked[start:start + encoder.batch_size])
        drops.append(base - F.normalize(encoder.model.encode_image(batch).float(), dim=-1) @ target)
    return torch.cat(drops).reshape(OCCLUSION_GRID, OCCLUSION_GRID).cpu().numpy()


# ---- drawing ------------------------------------------------------------------------------

def _palette() -> np.ndarray:
    """256 RGB colours from dark blue (weak match) through red to yellow (strong match)."""
    anchors = np.array([(13, 8, 135), (126, 3, 168), (204, 71, 120), (248, 149, 64), (240, 249, 33)], np.float32)
    position = np.linspace(0, len(anchors) - 1, 256)
    low = np.floor(position).astype(int).clip(0, len(anchors) - 2)
    frac = (position - low)[:, None]
    return (anchors[low] * (1 - frac) + anchors[low + 1] * frac).astype(np.uint8)


PALETTE = _palette()
LEGEND_PX = 14


def overlay(image: Image.Image, heat: Heatmap, alpha: float = 0.75, legend: bool = True) -> Image.Image:
    """The image with the heatmap blended over it, its peak ringed, and a colour bar underneath.

    Stronger matches are drawn more opaque, so weak regions still show the picture."""
    rgb = image.convert("RGB")
    width, height = rgb.size
    fine = heat.upsampled(width, height)
    span = float(fine.max() - fine.min())
    level = ((fine - fine.min()) / span if span > 0 else np.zeros_like(fine))
    colours = PALETTE[(level * 255).astype(int)]
    weight = (alpha * level ** 1.5)[..., None]  # weak regions keep their true colours
    blended = (np.asarray(rgb, np.float32) * (1 - weight) + colours * weight).astype(np.uint8)
    out = Image.fromarray(blended)
    draw = ImageDraw.Draw(out)
    px, py = heat.peak()
    r = max(4, min(width, height) // 14)
    draw.ellipse((px * width - r, py * height - r, px * width + r, py * height + r), outline="white", width=2)
    if not legend:
        return out
    bar = Image.fromarray(np.repeat(PALETTE[np.linspace(0, 255, width).astype(int)][None], LEGEND_PX, axis=0))
    framed = Image.new("RGB", (width, height + LEGEND_PX + 2), "white")
    framed.paste(out, (0, 0))
    framed.paste(bar, (0, height + 2))
    return framed
