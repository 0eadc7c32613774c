"""Train the bundled ``simlab-shapes`` CLIP on the shapes world.

    python -m indexing.shapes.train --steps 3000 --seed 0

Reproducible from its seed; resumable from ``--checkpoint`` (written every ``--save-every`` steps);
exports fp16 safetensors next to the model config in ``models/``. Training renders scenes from
``world.TRAIN_SEEDS`` only.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

import numpy as np
import open_clip
import torch
from open_clip.loss import ClipLoss
from safetensors.torch import save_file
from tqdm import tqdm

from indexing.shapes import world
from indexing.model.zoo import BUNDLED_CONFIG, BUNDLED_NAME, BUNDLED_WEIGHTS, register_bundled_config


def sample_caption(attrs: dict[str, str], rng: random.Random) -> str:
    """Mostly full captions (they carry every attribute), sometimes partial or single."""
    draw = rng.random()
    if draw < 0.7:
        return world.full_caption(attrs)
    if draw < 0.9:
        return rng.choice(world.partial_captions(attrs))
    return rng.choice(world.single_captions(attrs))


def hard_negative_group(rng: random.Random, size: int) -> list[world.Scene]:
    """A base scene and ``size - 1`` variants that each differ from it in one attribute.

    Random batches are mostly told apart by colour or background alone; groups like these force
    the model to learn every attribute (shape and position too).
    """
    base = world.random_scene(rng)
    group = [base]
    for _ in range(size - 1):
        key = rng.choice(list(world.ATTRIBUTES))
        value = rng.choice([v for v in world.ATTRIBUTES[key] if v != base.attributes[key]])
        group.append(world.scene_for({**base.attributes, key: value}, rng))
    return group


class Batches:
    """Fresh rendered (image, caption) batches of hard-negative groups, a pure function of (seed, step)."""

    def __init__(self, preprocess, tokenizer, batch_size: int, seed: int, render_size: int = 128,
                 group_size: int = 4):
        self.preprocess, self.tokenizer = preprocess, tokenizer
        self.batch_size, self.seed, self.render_size = batch_size, seed, render_size
        self.group_size = group_size
        self._tokens: dict[str, torch.Tensor] = {}

    def _tokenize(self, captions: list[str]) -> torch.Tensor:
        missing = [c for c in set(captions) if c not in self._tokens]
        if missing:
            for c, t in zip(missing, self.tokenizer(missing)):
                self._tokens[c] = t
        return torch.stack([self._tokens[c] for c in captions])

    def __call__(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = random.Random(self.seed * 1_000_003 + step)
        scenes = [s for _ in range(self.batch_size // self.group_size)
                  for s in hard_negative_group(rng, self.group_size)]
        images = torch.stack([self.preprocess(world.render(s, self.render_size)) for s in scenes])
        texts = self._tokenize([sample_caption(s.attributes, rng) for s in scenes])
        return images, texts


def lr_at(step: int, total: int, base: float, warmup: int) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return base * 0.5 * (1 + math.cos(math.pi * progress))


@torch.no_grad()
def quick_t2i(model, preprocess, tokenizer, device, n: int = 256, seed: int = 999_999) -> float:
    """t2i R@1 on a small held-out batch of training-world scenes: a progress signal only."""
    rng = random.Random(seed)
    scenes = [world.random_scene(rng) for _ in range(n)]
    images = torch.stack([preprocess(world.render(s)) for s in scenes]).to(device)
    texts = tokenizer([world.full_caption(s.attributes) for s in scenes]).to(device)
    model.eval()
    img = torch.nn.functional.normalize(model.encode_image(images), dim=-1)
    txt = torch.nn.functional.normalize(model.encode_text(texts), dim=-1)
    model.train()
    full = [world.full_caption(s.attributes) for s in scenes]
    best = (txt @ img.T).argmax(dim=1).tolist()
    return float(np.mean([full[b] == full[i] for i, b in enumerate(best)]))


def export(model: torch.nn.Module, path: Path) -> None:
    """Save fp16 weights as safetensors (open_clip loads them back into fp32)."""
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(path), metadata={"format": "pt", "model": BUNDLED_NAME})


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=150)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--checkpoint", type=Path, default=Path("models/.train/simlab-shapes.pt"))
    p.add_argument("--save-every", type=int, default=100)
    p.add_argument("--out", type=Path, default=BUNDLED_WEIGHTS)
    args = p.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    register_bundled_config()
    model, _, preprocess = open_clip.create_model_and_transforms(BUNDLED_NAME, pretrained=None, device=device)
    tokenizer = open_clip.get_tokenizer(BUNDLED_NAME)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.1, betas=(0.9, 0.98))
    loss_fn = ClipLoss()
    start, log = 0, []
    if args.checkpoint.exists():
        state = torch.load(args.checkpoint, map_location=device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start, log = state["step"], state["log"]
        print(f"resumed from {args.checkpoint} at step {start}")
    batches = Batches(preprocess, tokenizer, args.batch_size, args.seed)
    model.train()
    began = time.time()
    bar = tqdm(range(start, args.steps), initial=start, total=args.steps, desc="train simlab-shapes")
    for step in bar:
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, args.steps, args.lr, args.warmup)
        images, texts = batches(step)
        images, texts = images.to(device), texts.to(device)
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=device == "cuda"):
            image_features, text_features, logit_scale = model(images, texts)[:3]
            loss = loss_fn(image_features, text_features, logit_scale)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        bar.set_postfix(loss=f"{loss.item():.3f}")
        done = step + 1
        if done % args.save_every == 0 or done == args.steps:
            r1 = quick_t2i(model, preprocess, tokenizer, device)
            log.append({"step": done, "loss": round(loss.item(), 4), "quick_t2i_r1": r1,
                        "seconds": round(time.time() - began, 1)})
            tqdm.write(json.dumps(log[-1]))
            args.checkpoint.parent.mkdir(parents=True, exist_ok=True)
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "step": done, "log": log}, args.checkpoint)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    export(model, args.out)
    (args.out.with_suffix(".train.json")).write_text(json.dumps(
        {"config": BUNDLED_CONFIG.name, "steps": args.steps, "batch_size": args.batch_size, "lr": args.lr,
         "seed": args.seed, "device": device, "torch_threads": torch.get_num_threads(), "log": log}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
