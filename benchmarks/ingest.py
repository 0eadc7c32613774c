"""Ingest throughput against the model's raw forward rate, in one run on the same images.

    python -m benchmarks.ingest [--model ViT-B-32] [--images 96] [--batch 32] [--device auto|cpu|cuda]
                                [--workers N] [--json]

raw: ``encode_image`` on already preprocessed tensors (the model alone). Raw and ingest passes
alternate ``--repeats`` times and the medians are compared, so the machine's drift hits both.
ingest: the full pipeline from JPEG bytes: hash, decode, preprocess, thumbnail, encode, Chroma upsert.
Random weights (``pretrained=none``) cost the same as trained ones. ``--device cuda`` runs both on the GPU
(half precision, pinned batches); ``--workers`` sets the decode threads (default: by device, as ``SIMLAB_DECODE_WORKERS``
unset). On a GPU use a few thousand images (``--images 4096 --batch 256``) so the rate is not start-up.
"""
from __future__ import annotations

import io
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from benchmarks.report import parser
from indexing.encoder import Encoder
from indexing.ingest import default_workers
from indexing.lab import open_lab
from indexing.models import ModelUnavailable, resolve
from indexing.settings import DEVICES, Settings
from indexing.sources import plan_uploads


def photo_like_jpegs(n: int, seed: int = 0) -> list[bytes]:
    """JPEGs from 640x480 to 2000x1500 with gradients and shapes, so they compress like photos."""
    rng = random.Random(seed)
    sizes = [(640, 480), (1024, 768), (1600, 1200), (2000, 1500)]
    out = []
    for i in range(n):
        w, h = sizes[i % len(sizes)]
        base = Image.linear_gradient("L").resize((w, h)).convert("RGB")
        tint = Image.new("RGB", (w, h), tuple(rng.randrange(256) for _ in range(3)))
        image = Image.blend(base, tint, 0.5)
        draw = ImageDraw.Draw(image)
        for _ in range(12):
            x, y = rng.randrange(w), rng.randrange(h)
            r = rng.randrange(20, max(21, w // 6))
            draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rng.randrange(256) for _ in range(3)))
        buf = io.BytesIO()
        image.save(buf, format="JPEG", quality=90)
        out.append(buf.getvalue())
    return out


def measure(model: str, n_images: int, batch: int, repeats: int = 3, device: str = "auto", workers: int = 0) -> dict:
    """Raw and full-ingest rates, interleaved ``repeats`` times (medians), so drift hits both alike."""
    encoder = Encoder(resolve(model, "none"), device, batch_size=batch)
    workers = workers or default_workers(encoder.device)
    jpegs = photo_like_jpegs(n_images)
    pixels = encoder.preprocess_images([Image.open(io.BytesIO(j)).convert("RGB") for j in jpegs])
    encoder.encode_pixels(pixels[:batch])  # warm-up
    raw, ingest = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        encoder.encode_pixels(pixels)
        raw.append(n_images / (time.perf_counter() - start))
        with tempfile.TemporaryDirectory() as tmp:
            lab = open_lab(Settings(data_dir=Path(tmp), batch_size=batch, decode_workers=workers), encoder=encoder)
            plan = plan_uploads((f"photo-{i}.jpg", j) for i, j in enumerate(jpegs))
            start = time.perf_counter()
            summary = lab.ingest(plan)
            ingest.append(n_images / (time.perf_counter() - start))
            assert summary.added == n_images, summary.as_dict()
    raw_s, ingest_s = statistics.median(raw), statistics.median(ingest)
    return {"model": model, "device": encoder.device, "decode_workers": workers, "images": n_images, "batch": batch,
            "threads": torch.get_num_threads(),
            "repeats": repeats, "raw_img_s": round(raw_s, 2), "ingest_img_s": round(ingest_s, 2),
            "ratio": round(ingest_s / raw_s, 3), "raw_runs": [round(r, 2) for r in raw],
            "ingest_runs": [round(r, 2) for r in ingest]}


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--model", default="ViT-B-32")
    p.add_argument("--images", type=int, default=96)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", default="auto", choices=DEVICES)
    p.add_argument("--workers", type=int, default=0, help="decode threads (default: by device)")
    args = p.parse_args()
    try:
        result = measure(args.model, args.images, args.batch, args.repeats, args.device, args.workers)
    except ModelUnavailable as exc:
        raise SystemExit(str(exc)) from None
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['model']} on {result['device']}, {result['images']} JPEGs (640x480 to 2000x1500), "
              f"batch {result['batch']}, {result['threads']} torch threads, {result['decode_workers']} decode workers")
        print(f"  raw forward : {result['raw_img_s']:.2f} img/s")
        print(f"  full ingest : {result['ingest_img_s']:.2f} img/s")
        print(f"  ratio       : {result['ratio']:.3f}")


if __name__ == "__main__":
    main()
