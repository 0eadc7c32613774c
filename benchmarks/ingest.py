"""Ingest throughput against the model's raw forward rate, in one run on the same images.

    python -m benchmarks.ingest [--model ViT-B-32 | --config FILE.json] [--images 96] [--batch 32]
                                [--device auto|cpu|cuda] [--workers N] [--json]

raw: ``encode_image`` on already preprocessed tensors (the model alone). Raw and ingest passes
alternate ``--repeats`` times and the medians are compared, so the machine's drift hits both.
ingest: the full pipeline from JPEG bytes: hash, decode, preprocess, thumbnail, encode, Chroma upsert.
decode: decode + thumbnail + preprocess of the same JPEGs in the same decode threads, nothing else: with a model
too small to be the limit (``--config tests/fixtures/tiny-clip.json``) the ingest should reach most of it.
``stages``: seconds per ingest stage in the median run (read_hash, dedupe, decode, thumbnail, preprocess,
blob_writes and encode, store, and the main thread's waiting for decoded batches).
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from benchmarks.report import parser
from indexing.model.encoder import Encoder
from indexing.ingest.pipeline import default_workers
from indexing.ingest.media import decode_image, thumbnail_bytes
from indexing.lab import open_lab
from indexing.model.zoo import ModelUnavailable, resolve_model
from indexing.core.settings import DEVICES, Settings
from indexing.ingest.sources import plan_uploads


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


def decode_only(jpegs: list[bytes], encoder: Encoder, batch: int, workers: int) -> float:
    """Images per second of decode + thumbnail + preprocess of ``jpegs`` in ``workers`` threads, a batch per
    task as the ingest's decode threads take them: no hashing, no model, no store, no writes."""
    min_side = max(encoder.image_size, 256)

    def one_batch(chunk: list[bytes]) -> int:
        for data in chunk:
            image = decode_image(data, min_side=min_side)
            thumbnail_bytes(image)
            encoder.preprocess(image)
        return len(chunk)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        done = sum(pool.map(one_batch, [jpegs[i:i + batch] for i in range(0, len(jpegs), batch)]))
    return done / (time.perf_counter() - start)


def measure(model: str, n_images: int, batch: int, repeats: int = 3, device: str = "auto", workers: int = 0,
            config: str | None = None) -> dict:
    """Raw, decode-only and full-ingest rates, interleaved ``repeats`` times (medians), so drift hits all
    alike; plus the seconds each ingest stage took in the median ingest run."""
    spec = resolve_model(config, None) if config else resolve_model(model, "none")
    encoder = Encoder(spec, device, batch_size=batch)
    workers = workers or default_workers(encoder.device)
    jpegs = photo_like_jpegs(n_images)
    pixels = encoder.preprocess_images([Image.open(io.BytesIO(j)).convert("RGB") for j in jpegs])
    encoder.encode_pixels(pixels[:batch])  # warm-up
    raw, decode, ingest, stages = [], [], [], []
    for _ in range(repeats):
        start = time.perf_counter()
        encoder.encode_pixels(pixels)
        raw.append(n_images / (time.perf_counter() - start))
        decode.append(decode_only(jpegs, encoder, batch, workers))
        with tempfile.TemporaryDirectory() as tmp:
            lab = open_lab(Settings(data_dir=Path(tmp), batch_size=batch, decode_workers=workers), encoder=encoder)
            plan = plan_uploads((f"photo-{i}.jpg", j) for i, j in enumerate(jpegs))
            start = time.perf_counter()
            summary = lab.ingest(plan)
            ingest.append(n_images / (time.perf_counter() - start))
            stages.append(summary.stages.as_dict())
            assert summary.added == n_images, summary.as_dict()
    raw_s, decode_s, ingest_s = statistics.median(raw), statistics.median(decode), statistics.median(ingest)
    middle = sorted(range(repeats), key=lambda r: ingest[r])[repeats // 2]
    return {"model": spec.name, "device": encoder.device, "decode_workers": workers, "images": n_images,
            "batch": batch, "threads": torch.get_num_threads(), "repeats": repeats,
            "raw_img_s": round(raw_s, 2), "decode_img_s": round(decode_s, 2), "ingest_img_s": round(ingest_s, 2),
            "ratio": round(ingest_s / raw_s, 3), "decode_ratio": round(ingest_s / decode_s, 3),
            "stages": stages[middle], "raw_runs": [round(r, 2) for r in raw],
            "decode_runs": [round(r, 2) for r in decode], "ingest_runs": [round(r, 2) for r in ingest]}


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--model", default="ViT-B-32")
    p.add_argument("--images", type=int, default=96)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", default="auto", choices=DEVICES)
    p.add_argument("--workers", type=int, default=0, help="decode threads (default: by device)")
    p.add_argument("--config", help="an open_clip model config file (random weights) instead of --model, e.g. "
                   "tests/fixtures/tiny-clip.json: a model too small to be the limit, so the pipeline is")
    args = p.parse_args()
    try:
        result = measure(args.model, args.images, args.batch, args.repeats, args.device, args.workers, args.config)
    except ModelUnavailable as exc:
        raise SystemExit(str(exc)) from None
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['model']} on {result['device']}, {result['images']} JPEGs (640x480 to 2000x1500), "
              f"batch {result['batch']}, {result['threads']} torch threads, {result['decode_workers']} decode workers")
        print(f"  raw forward : {result['raw_img_s']:.2f} img/s")
        print(f"  decode only : {result['decode_img_s']:.2f} img/s (decode + thumbnail + preprocess, same workers)")
        print(f"  full ingest : {result['ingest_img_s']:.2f} img/s")
        print(f"  ratio       : {result['ratio']:.3f} of raw, {result['decode_ratio']:.3f} of decode only")
        print("  stages (s)  : " + ", ".join(f"{k} {v:.2f}" for k, v in result["stages"].items()))


if __name__ == "__main__":
    main()
