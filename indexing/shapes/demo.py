"""The demo world as an ingest plan: rendered images with their attributes, plus some of their captions."""
from __future__ import annotations

import io
import random

from indexing.shapes import world
from indexing.core.errors import InputError
from indexing.ingest.sources import PendingImage, PendingText, Plan

DEFAULT_N = 500
DEFAULT_SEED = 7
DEMO_PAIR_SHARE = 0.1  # the app's and the CLI's demo: a tenth of the images are two-object scenes


def _png(item: world.WorldItem | world.PairItem) -> bytes:
    out = io.BytesIO()
    item.image.save(out, format="PNG")
    return out.getvalue()


def demo_plan(n: int = DEFAULT_N, seed: int = DEFAULT_SEED, caption_share: float = 0.25,
              pair_share: float = 0.0) -> Plan:
    """``n`` demo images (attributes as metadata) and captions for about ``caption_share`` of them; a
    ``pair_share`` of the images are two-object scenes, their caption and objects as metadata (the
    single-object scenes stay those of ``make_world(n - pairs, seed)``)."""
    if n < 1:
        raise InputError("The demo world needs at least 1 item.")
    pairs = min(n - 1, round(n * pair_share))
    rng = random.Random(seed)
    plan = Plan()
    for item in world.make_world(n - pairs, seed):
        attrs = item.attributes
        source = f"demo world (seed {seed})/{item.name}"
        plan.items.append(PendingImage(source, item.name, lambda it=item: _png(it), dict(attrs)))
        if rng.random() < caption_share:
            template = rng.choice((None,) + world.PARTIAL_TEMPLATES)
            if template is None:
                text, named = world.full_caption(attrs), attrs
            else:
                text = world.partial_captions(attrs)[world.PARTIAL_TEMPLATES.index(template)]
                named = {k: attrs[k] for k in world.template_keys(template)}
            plan.items.append(PendingText(f"{source}#caption", "caption", text, dict(named)))
    for item in world.pair_world(pairs, seed + 1):
        scene = item.scene
        meta = {"caption": world.pair_caption(scene), "left": scene.left.label, "right": scene.right.label,
                "background": scene.background}
        plan.items.append(PendingImage(f"demo world (seed {seed})/{item.name}", item.name,
                                       lambda it=item: _png(it), meta))
    return plan
