"""Model check: what the active model does and does not understand, before anyone trusts its neighbours.

After "When and why vision-language models behave like bags-of-words" (Yuksekgonul et al., ICLR 2023,
the ARO benchmark): each probe asks the model to prefer the right caption of an image over a
perturbed one, and every figure sits next to its chance rate.

- ``binding`` (VG-Attribution): "a red circle and a blue square" over "a blue circle and a red square".
- ``relation`` (VG-Relation): "a circle to the left of a square" over the swapped caption.
- ``order`` (COCO-Order): a caption over its word-shuffled versions — nouns and adjectives shuffled
  among themselves, or trigrams shuffled. ARO finds those words with a part-of-speech tagger; offline
  here, "content words" (every word not in ``FUNCTION_WORDS``) stand in for them.
- ``zero_shot``: each attribute of a single-object scene classified by text prompts.

On the shapes world the scenes are generated with exact answers; on a user's collection the order
probe runs on image items that carry a caption in a metadata field.
"""
from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np

from indexing.shapes import world
from indexing.model.encoder import Encoder
from indexing.store.chroma import Record

ORDER_VARIANTS = ("shuffle_nouns_adjectives", "shuffle_trigrams")
SHUFFLES_PER_CAPTION = 3
FUNCTION_WORDS = frozenset(
    "a an the and or but nor of on in at to from by with without for as into onto over under near behind above "
    "below is are was were be been being has have had it its this that these those there here some something "
    "someone any each every no not very".split())
ZERO_SHOT_PROMPTS = {
    "shape": "a {}",
    "color": "something {}",
    "size": "something {}",
    "background": "a {} background",
    "position": "something {}",
}


def figure(correct: Sequence[bool], chance: float | None) -> dict:
    """One probe's figure: accuracy next to its chance rate and how many cases it rests on (None: no case)."""
    n = len(correct)
    return {"accuracy": round(float(np.mean(correct)), 4) if n else None,
            "chance": round(float(chance), 4) if n and chance is not None else None, "n": n}


def prefers(image_vectors: np.ndarray, right: np.ndarray, wrong: np.ndarray) -> np.ndarray:
    """Per image: whether the right caption scores strictly above every wrong one (wrong: (N, m, dim))."""
    right_scores = np.einsum("nd,nd->n", image_vectors, right)
    wrong_scores = np.einsum("nd,nmd->nm", image_vectors, wrong)
    return right_scores > wrong_scores.max(axis=1)


# ---- perturbations ---------------------------------------------------------------------------------
def shuffle_content_words(caption: str, rng: random.Random) -> str:
    """The content words (stand-ins for nouns and adjectives) shuffled among their own places."""
    words = caption.split()
    slots = [i for i, w in enumerate(words) if _bare(w) not in FUNCTION_WORDS]
    moved = [words[i] for i in slots]
    rng.shuffle(moved)
    for i, w in zip(slots, moved):
        words[i] = w
    return " ".join(words)


def shuffle_trigrams(caption: str, rng: random.Random) -> str:
    """The caption cut into runs of three words, the runs shuffled."""
    words = caption.split()
    grams = [words[i:i + 3] for i in range(0, len(words), 3)]
    rng.shuffle(grams)
    return " ".join(w for g in grams for w in g)


PERTURBATIONS = {"shuffle_nouns_adjectives": shuffle_content_words, "shuffle_trigrams": shuffle_trigrams}


def _bare(word: str) -> str:
    return word.strip(".,;:!?\"'()").lower()


def perturbed(caption: str, variant: str, seed: int, count: int = SHUFFLES_PER_CAPTION) -> list[str]:
    """Up to ``count`` distinct shuffles of ``caption`` that differ from it (fewer when few exist)."""
    rng = random.Random(f"{seed}:{variant}:{caption}")
    found: list[str] = []
    for _ in range(count * 10):
        candidate = PERTURBATIONS[variant](caption, rng)
        if candidate != caption and candidate not in found:
            found.append(candidate)
            if len(found) == count:
                break
    return found


# ---- probes ----------------------------------------------------------------------------------------
def order_probe(encoder: Encoder, image_vectors: np.ndarray, captions: Sequence[str], seed: int = 0) -> dict:
    """For each variant: how often an image's caption beats its own shuffles. Captions with no distinct
    shuffle are left out (the figure says how many it rests on); chance is 1/(1 + shuffles) per case."""
    out = {}
    for variant in ORDER_VARIANTS:
        cases = [(i, wrong) for i, c in enumerate(captions) if len(wrong := perturbed(c, variant, seed)) > 0]
        correct, chances = [], []
        if cases:
            right = encoder.encode_texts([captions[i] for i, _ in cases])
            flat = encoder.encode_texts([w for _, wrong in cases for w in wrong])
            start = 0
            for (i, wrong), r in zip(cases, right):
                block = flat[start:start + len(wrong)]
                start += len(wrong)
                correct.append(bool(prefers(image_vectors[i:i + 1], r[None], block[None])[0]))
                chances.append(1.0 / (1 + len(wrong)))
        out[variant] = figure(correct, float(np.mean(chances)) if chances else None)
    return out


def binding_captions(s: world.PairScene) -> tuple[str, str]:
    """The scene's caption, and the same words with the two colours swapped between the shapes."""
    return (f"a {s.left.color} {s.left.shape} and a {s.right.color} {s.right.shape}",
            f"a {s.right.color} {s.left.shape} and a {s.left.color} {s.right.shape}")


def relation_captions(s: world.PairScene) -> tuple[str, str]:
    """The true left-of relation, and the swapped one (shapes only, so the words alone cannot tell)."""
    return f"a {s.left.shape} to the left of a {s.right.shape}", f"a {s.right.shape} to the left of a {s.left.shape}"


def binding_probe(encoder: Encoder, items: Sequence[world.PairItem], image_vectors: np.ndarray) -> dict:
    """Colours bound to the right shapes: the scene's caption over the one with the colours swapped."""
    return {"clip": _two_way(encoder, image_vectors, [binding_captions(it.scene) for it in items])}


def relation_probe(encoder: Encoder, items: Sequence[world.PairItem], image_vectors: np.ndarray) -> dict:
    """Left of / right of: the true relation over the swapped one."""
    return {"clip": _two_way(encoder, image_vectors, [relation_captions(it.scene) for it in items])}


def zero_shot_probe(encoder: Encoder, items: Sequence[world.WorldItem], image_vectors: np.ndarray) -> dict:
    """Each attribute classified by one prompt per value; chance is one over the number of values."""
    out = {}
    for attribute, values in world.ATTRIBUTES.items():
        words = [world._where(v) if attribute == "position" else v for v in values]
        prompts = encoder.encode_texts([ZERO_SHOT_PROMPTS[attribute].format(w) for w in words])
        guess = np.argmax(image_vectors @ prompts.T, axis=1)
        truth = [values.index(it.attributes[attribute]) for it in items]
        out[attribute] = figure(list(guess == np.array(truth)), 1.0 / len(values))
    return out


def _two_way(encoder: Encoder, image_vectors: np.ndarray, pairs: list[tuple[str, str]]) -> dict:
    """How often each image prefers the first caption of its pair (the right one) to the second."""
    right = encoder.encode_texts([r for r, _ in pairs])
    wrong = encoder.encode_texts([w for _, w in pairs])
    return figure(list(prefers(image_vectors, right, wrong[:, None])), 0.5)


def world_probes(encoder: Encoder, seed: int = world.DEFAULT_EVAL_SEED, n: int = 200) -> dict:
    """Every probe on scenes generated from ``seed``: probe → variant → {accuracy, chance, n}."""
    world.evaluation_seed(seed)
    pairs = world.pair_world(n, seed + 13)
    singles = world.make_world(n, seed + 17)
    pair_vectors = encoder.encode_images([it.image for it in pairs])
    single_vectors = encoder.encode_images([it.image for it in singles])
    return {
        "binding": binding_probe(encoder, pairs, pair_vectors),
        "relation": relation_probe(encoder, pairs, pair_vectors),
        "order": order_probe(encoder, single_vectors, [world.full_caption(it.attributes) for it in singles], seed),
        "zero_shot": zero_shot_probe(encoder, singles, single_vectors),
    }


# ---- a user's own collection ----------------------------------------------------------------------
MIN_CAPTION_WORDS = 3  # shorter texts have too few orders to probe


def caption_fields(records: Sequence[Record]) -> dict[str, int]:
    """Metadata fields that hold captions of image items: field → how many image items have one."""
    counts: dict[str, int] = {}
    for r in records:
        if r.kind != "image":
            continue
        for key, value in r.metadata.items():
            if isinstance(value, str) and len(value.split()) >= MIN_CAPTION_WORDS:
                counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def collection_order(encoder: Encoder, records: Sequence[Record], vectors: np.ndarray, field: str,
                     limit: int = 1000, seed: int = 0) -> dict:
    """The order probe on image items captioned in metadata ``field`` (at most ``limit``, a seeded sample),
    scored against their stored vectors: no image is encoded again."""
    picks = [i for i, r in enumerate(records) if r.kind == "image"
             and len(str(r.metadata.get(field) or "").split()) >= MIN_CAPTION_WORDS]
    if len(picks) > limit:
        picks = sorted(random.Random(seed).sample(picks, limit))
    captions = [str(records[i].metadata[field]) for i in picks]
    return order_probe(encoder, vectors[picks], captions, seed)


TITLES = {
    ("binding", "clip"): "binding: colours on the right shapes",
    ("relation", "clip"): "relation: which is left of which",
    ("order", "shuffle_nouns_adjectives"): "order: nouns and adjectives shuffled",
    ("order", "shuffle_trigrams"): "order: trigrams shuffled",
    ("order_collection", "shuffle_nouns_adjectives"): "your captions: nouns and adjectives shuffled",
    ("order_collection", "shuffle_trigrams"): "your captions: trigrams shuffled",
}


def rows(result: dict) -> list[dict]:
    """A probe result flattened for a table: one row per probe and variant, titled in plain words."""
    return [{"probe": TITLES.get((probe, variant), f"{probe.replace('_', '-')}: {variant}"), **fig}
            for probe, variants in result.items() for variant, fig in variants.items()]
