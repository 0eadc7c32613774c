"""Image decoding and validation: bytes in, an upright RGB image out, or a one-line reason why not."""
from __future__ import annotations

import io
import stat
import warnings
from pathlib import Path

import filetype
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from indexing.core.errors import SimLabError

# Only these decoders may ever see user bytes (EPS and friends would reach Ghostscript).
# (Multi-picture JPEGs, MPO, come through the JPEG opener.)
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
MAX_PIXELS = 50_000_000
MAX_IMAGE_BYTES = 64 * 1024 * 1024
THUMB_SIZE = 256

Image.init()  # register every plugin so `formats=` can name them; only ALLOWED_FORMATS are ever tried
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# Pillow only warns between MAX_IMAGE_PIXELS and twice that; a bomb is a bomb either way.
warnings.simplefilter("error", Image.DecompressionBombWarning)


class MediaError(SimLabError, ValueError):
    """An input that cannot be used; the message is one line, fit to show a user."""


def describe_content(data: bytes) -> str:
    """A short guess of what the bytes really are, for error messages."""
    kind = filetype.guess(data)
    if kind is not None:
        return kind.mime
    head = data[:512].lstrip().lower()
    if data[:4] == b"\xc5\xd0\xd3\xc6":
        return "application/postscript (binary EPS)"
    if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<svg")) or b"<html" in head:
        return "HTML/XML text"
    try:
        data[:512].decode("utf-8")
        return "text"
    except UnicodeDecodeError:
        return "unrecognised binary data"


def one_line(exc: BaseException, limit: int = 200) -> str:
    """An exception as one short line: its message (or its type, when it has none), never a traceback."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[:limit - 1] + "…"


def read_bounded(path: Path, limit: int, what: str = "file") -> bytes:
    """A regular file's bytes, its size checked before reading (``stat``) and the read bounded by ``limit``:
    devices, FIFOs and sockets are refused, never read. ``MediaError`` says why, ``OSError`` if unreadable."""
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise MediaError(f"not a regular file: a device, pipe or socket is never read as an {what}"
                         if what == "image" else "not a regular file: a device, pipe or socket is never read")
    if info.st_size > limit:
        raise MediaError(f"{what} too large ({info.st_size / 2**20:.0f} MiB > {limit // 2**20} MiB)")
    with path.open("rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:  # it grew since the stat
        raise MediaError(f"{what} too large (over {limit // 2**20} MiB)")
    return data


def inside(root: Path, relative: str) -> Path | None:
    """``root / relative`` when it resolves (symbolic links followed) to a path under ``root``; else None, so a
    path from a spec or a benchmark file never reaches outside the directory it belongs to."""
    if not relative or "\x00" in relative or Path(relative).is_absolute():
        return None
    base = root.resolve()
    target = (base / relative).resolve()
    return root / relative if target != base and target.is_relative_to(base) else None


def open_image(data: bytes) -> Image.Image:
    """Open (header only) an allowed image format, checking size limits before any decoding."""
    if not data:
        raise MediaError("empty file (0 bytes)")
    if len(data) > MAX_IMAGE_BYTES:
        raise MediaError(f"file too large ({len(data) / 2**20:.0f} MiB > {MAX_IMAGE_BYTES // 2**20} MiB)")
    try:
        image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaError(f"image too large, refused as a decompression bomb: {exc}") from None
    except UnidentifiedImageError:
        raise MediaError(f"not a supported image ({describe_content(data)}); "
                         "allowed: JPEG, PNG, WebP, GIF, BMP, TIFF") from None
    except Exception as exc:  # a plugin's header parser on malformed bytes: OSError, SyntaxError, struct.error …
        raise MediaError(f"truncated or corrupt image ({describe_content(data)}): {one_line(exc)}") from None
    width, height = image.size
    limit = Image.MAX_IMAGE_PIXELS or MAX_PIXELS  # Pillow's own limit: above it Pillow only warns; we refuse
    if width * height > limit:
        raise MediaError(f"image too large ({width}x{height} pixels > {limit:,}), "
                         "refused as a possible decompression bomb")
    return image


def decode_image(data: bytes, min_side: int = THUMB_SIZE) -> Image.Image:
    """Decode to an upright RGB image; large JPEGs are decoded at reduced scale (≥ ``min_side``)."""
    image = open_image(data)
    try:
        if image.format in {"JPEG", "MPO"}:
            image.draft("RGB", (min_side, min_side))
        image.seek(0)  # first frame of animations
        image.load()
        image = ImageOps.exif_transpose(image)
        return to_rgb(image)
    except MediaError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaError(f"image too large, refused as a decompression bomb: {exc}") from None
    except Exception as exc:  # Pillow's decoders raise many types on malformed data
        raise MediaError(f"truncated or corrupt {image.format} image: {one_line(exc)}") from None


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode to RGB: 16-bit greys rescaled, transparency flattened onto white."""
    if image.mode in {"I;16", "I;16B", "I;16L", "I", "F"}:
        arr = np.asarray(image, dtype=np.float64)
        lo, hi = (0.0, 65535.0) if image.mode.startswith("I;16") else (float(arr.min()), float(arr.max()))
        scaled = np.clip((arr - lo) / max(hi - lo, 1e-9) * 255.0, 0, 255).astype(np.uint8)
        return Image.fromarray(scaled, "L").convert("RGB")
    if image.mode == "P" and "transparency" in image.info or image.mode in {"PA", "LA", "RGBa", "La"}:
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, image).convert("RGB")
    return image.convert("RGB")


def thumbnail_bytes(image: Image.Image, size: int = THUMB_SIZE) -> bytes:
    """A JPEG thumbnail no larger than ``size`` on its longer side."""
    thumb = image.copy()
    thumb.thumbnail((size, size), Image.Resampling.BICUBIC)
    out = io.BytesIO()
    thumb.save(out, format="JPEG", quality=88)
    return out.getvalue()
