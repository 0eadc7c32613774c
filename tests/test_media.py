"""Image decoding: every bad input gets a one-line reason; awkward but valid images look right."""
import io

import numpy as np
import pytest
from PIL import Image

from indexing.ingest.media import MediaError, decode_image
from tests.conftest import image_bytes


def _jpeg(color=(200, 30, 30), size=(60, 40), **save) -> bytes:
    return image_bytes(color, size, "JPEG", **save)


@pytest.mark.parametrize("data, reason", [
    (b"", "empty file"),
    (bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)), "not a supported image"),
    (b"<!DOCTYPE html><html><body>hi</body></html>", "HTML"),
])
def test_junk_is_refused_with_reason(data, reason):
    with pytest.raises(MediaError, match=reason) as info:
        decode_image(data)
    assert "\n" not in str(info.value)


def test_truncated_jpeg_is_refused():
    data = _jpeg(size=(400, 300))
    with pytest.raises(MediaError, match="truncated or corrupt"):
        decode_image(data[: len(data) // 2])


def test_decompression_bomb_is_refused():
    out = io.BytesIO()
    Image.new("1", (10_000, 8_000)).save(out, format="PNG")  # 80 Mpx: above the limit, tiny on disk
    with pytest.raises(MediaError, match="decompression bomb"):
        decode_image(out.getvalue())


def test_pillow_bomb_warning_is_an_error(monkeypatch):
    # Between Pillow's limit and twice it, Pillow only warns; we refuse.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(MediaError, match="decompression bomb"):
        decode_image(image_bytes(size=(40, 40)))  # 1600 px: warning range


def test_eps_renamed_png_never_reaches_ghostscript(monkeypatch):
    from PIL import EpsImagePlugin

    def boom(*args, **kwargs):
        raise AssertionError("Ghostscript was invoked")

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", boom)
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nnewpath 0 0 moveto 10 10 lineto stroke\n%%EOF\n"
    with pytest.raises(MediaError, match="postscript"):
        decode_image(eps)


def test_16_bit_greyscale_is_scaled_not_clipped():
    arr = np.full((20, 30), 32768, dtype=np.uint16)
    out = io.BytesIO()
    Image.fromarray(arr).save(out, format="PNG")
    rgb = np.asarray(decode_image(out.getvalue()))
    assert rgb.shape == (20, 30, 3)
    assert 120 <= rgb.mean() <= 135  # mid grey, not white


def test_cmyk_jpeg_becomes_rgb():
    image = decode_image(image_bytes((0, 255, 255, 0), (32, 32), "JPEG", mode="CMYK"))  # pure red in CMYK
    r, g, b = np.asarray(image).reshape(-1, 3).mean(axis=0)
    assert image.mode == "RGB" and r > 200 and g < 60 and b < 60


def test_palette_with_transparency_is_flattened_on_white():
    image = Image.new("P", (10, 10), 0)
    image.putpalette([0, 0, 0] * 256)
    out = io.BytesIO()
    image.save(out, format="PNG", transparency=0)
    assert np.asarray(decode_image(out.getvalue())).min() == 255


def test_exif_rotated_photo_is_upright():
    image = Image.new("RGB", (60, 40), (10, 200, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    assert decode_image(out.getvalue()).size == (40, 60)


def test_animated_gif_gives_first_frame():
    frames = [Image.new("RGB", (16, 16), c) for c in [(255, 0, 0), (0, 0, 255)]]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    r, g, b = np.asarray(decode_image(out.getvalue())).reshape(-1, 3).mean(axis=0)
    assert r > 200 and b < 50


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF"])
def test_allowed_formats_decode(fmt):
    assert decode_image(image_bytes((0, 128, 255), (33, 21), fmt)).size == (33, 21)


def test_large_jpeg_is_drafted_but_not_below_min_side():
    image = decode_image(_jpeg(size=(2000, 1500)), min_side=224)
    assert 224 <= min(image.size) < 1500
