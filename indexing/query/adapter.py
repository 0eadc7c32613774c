"""A learned adapter: a small low-rank residual on frozen embeddings, trained on relevance judgments.

After ADDER (Augmented Embeddings for Custom Retrievals): the frozen embedding plus a trainable
low-rank residual, e' = normalise(e + B·A·e), with A (r × d) and B (d × r), B starting at zero so the
untrained adapter is the identity. It adapts retrieval to what *these* judgments call relevant.

Both sides, queries and items, through the same map, measured: a query-side-only residual, trained on
pools that mostly share the query's colour, learned to push queries towards the training queries'
shapes and *lost* 0.15 nDCG@10 on held-out queries of the shapes world; the same residual on both sides
reshapes the similarity itself and gained 0.2 (``evaluate --task adapter``). The stored vectors are never
changed: the adapted item matrix is computed once per collection version and adapter (one product,
O(n·d·r)), and dropping an adapter drops nothing else. Trained with a pairwise (RankNet) loss on each
query's judged items: a more relevant item should score higher than a less relevant one.
"""
from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from indexing.store.blobs import atomic_write
from indexing.core.errors import plural
from indexing.core.errors import SimLabError
from indexing.query.specs import valid_name
from indexing.core.ranking import normalise

RANK, TEMPERATURE, STEPS, LEARNING_RATE, WEIGHT_DECAY = 8, 0.05, 300, 0.01, 1e-3


class AdapterError(SimLabError):
    """An adapter that cannot be trained, found or used; the message says what to do."""


@dataclass
class TrainingQuery:
    """One judged query: its vector and its judged items' vectors with their grades."""

    qid: str
    vector: np.ndarray  # (d,)
    items: np.ndarray  # (n, d)
    grades: np.ndarray  # (n,)


@dataclass
class Adapter:
    a: np.ndarray  # (r, d)
    b: np.ndarray  # (d, r)
    meta: dict

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        """Adapted unit vectors for (d,) or (n, d) input: queries and items alike."""
        v = np.asarray(vectors, np.float32)
        return normalise(v + (v @ self.a.T) @ self.b.T)


def pairs_of(queries: list[TrainingQuery]) -> int:
    """How many (better, worse) pairs the judgments give: what the adapter learns from."""
    return sum(int((g[:, None] > g[None, :]).sum()) for g in (q.grades for q in queries))


def train(queries: list[TrainingQuery], rank: int = RANK, steps: int = STEPS, seed: int = 0) -> Adapter:
    """Fit A and B on every query's judged pairs; ``AdapterError`` when the judgments give no pair."""
    usable = [q for q in queries if len(set(q.grades.tolist())) > 1]
    if not usable:
        raise AdapterError("Training needs queries whose judged items have different grades (some more relevant "
                           "than others); judge more items on the Label page.")
    dim = usable[0].vector.shape[0]
    g = torch.Generator().manual_seed(seed)
    a = torch.nn.Parameter(torch.randn(rank, dim, generator=g) / dim ** 0.5)
    b = torch.nn.Parameter(torch.zeros(dim, rank))
    data = [(torch.tensor(q.vector), torch.tensor(q.items), torch.tensor(q.grades, dtype=torch.float32))
            for q in usable]
    masks = [(gr[:, None] > gr[None, :]).float() for _, _, gr in data]
    optimiser = torch.optim.Adam([a, b], lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    start = time.perf_counter()
    for _ in range(steps):
        optimiser.zero_grad()
        loss = torch.zeros(())
        for (q, items, _), mask in zip(data, masks):
            adapted = torch.nn.functional.normalize(q + b @ (a @ q), dim=0)
            items = torch.nn.functional.normalize(items + (items @ a.T) @ b.T, dim=1)
            s = items @ adapted / TEMPERATURE
            diff = s[:, None] - s[None, :]
            loss = loss + (torch.nn.functional.softplus(-diff) * mask).sum() / mask.sum()
        (loss / len(data)).backward()
        optimiser.step()
    meta = {"rank": rank, "queries": len(usable), "judgments": int(sum(len(q.grades) for q in usable)),
            "pairs": pairs_of(usable), "train_seconds": round(time.perf_counter() - start, 2), "side": "both"}
    return Adapter(a.detach().numpy(), b.detach().numpy(), meta)


# ---- saved adapters, per collection ------------------------------------------------------------------
def _folder(data_dir: Path, collection: str) -> Path:
    return Path(data_dir) / "adapters" / collection


def save(adapter: Adapter, data_dir: Path, collection: str, name: str) -> Path:
    """Write ``<data>/adapters/<collection>/<name>.npz`` and its description (``.json``)."""
    _check(name)
    folder = _folder(data_dir, collection)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.npz"
    buffer = io.BytesIO()
    np.savez(buffer, a=adapter.a, b=adapter.b)
    atomic_write(path, buffer.getvalue())  # a page loading it meanwhile sees the old adapter or the new, whole
    atomic_write(folder / f"{name}.json", json.dumps({**adapter.meta, "name": name, "saved": time.time()}).encode())
    return path


def _check(name: str) -> None:
    if not valid_name(name):
        raise AdapterError(f"Adapter name {name!r}: use letters, digits, '-' or '_'.")


MAX_WEIGHT = 1e3  # trained weights stay far below this; past it an adapter only overflows (NaN scores)
MAX_FILE_BYTES = 64 * 1024 * 1024


def saved(data_dir: Path, collection: str) -> dict[str, dict]:
    """name → description of every adapter saved for this collection. A description that cannot be read is
    ``{"problem": why}`` (the adapter is still listed, so it can be dropped); files whose names no adapter can
    have are not adapters and are left alone."""
    folder = _folder(data_dir, collection)
    out = {}
    for path in sorted(folder.glob("*.json")):
        if not valid_name(path.stem) or not path.with_suffix(".npz").exists():
            continue
        try:
            meta = json.loads(path.read_bytes()[:MAX_FILE_BYTES])
        except (OSError, ValueError, RecursionError):
            meta = None
        out[path.stem] = meta if isinstance(meta, dict) else {"problem": "its description file cannot be read"}
    return out


def description(name: str, meta: dict) -> str:
    """One line about a saved adapter for its list: what it was trained on, or why its description is unreadable."""
    if meta.get("problem"):
        return f"{name}: {meta['problem']}"
    def count(key: str) -> int:
        value = meta.get(key, 0)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0
    side = "queries and items" if meta.get("side") == "both" else "queries"
    rank = meta.get("rank") if isinstance(meta.get("rank"), int) else "?"
    return (f"{name}: {plural(count('judgments'), 'judgment')} over {plural(count('queries'), 'query', 'queries')}, "
            f"rank {rank}, applied to {side}")


def load(data_dir: Path, collection: str, name: str, dim: int | None = None) -> Adapter:
    """A saved adapter, checked: two finite matrices a (r, d) and b (d, r) with weights below ``MAX_WEIGHT`` (and
    d = ``dim`` when given). Anything else is ``AdapterError`` in one line, saying to train it again or drop it."""
    _check(name)
    path = _folder(data_dir, collection) / f"{name}.npz"
    if not path.is_file():
        raise AdapterError(f"No adapter {name!r} for this collection; train one on the Label page.")
    fix = "train it again or drop it (Label page → Adapter)"
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise AdapterError(f"The adapter {name!r} is not an adapter file (too large); {fix}.")
        with np.load(path, allow_pickle=False) as arrays:
            a, b = np.asarray(arrays["a"], np.float32), np.asarray(arrays["b"], np.float32)
    except AdapterError:
        raise
    except Exception:  # truncated, not a zip, wrong members, pickled objects …
        raise AdapterError(f"The adapter {name!r} cannot be read (a damaged file); {fix}.") from None
    if a.ndim != 2 or b.ndim != 2 or b.shape != (a.shape[1], a.shape[0]) or 0 in a.shape:
        raise AdapterError(f"The adapter {name!r} has matrices of the wrong shapes ({a.shape}, {b.shape}); {fix}.")
    if dim is not None and a.shape[1] != dim:
        raise AdapterError(f"The adapter {name!r} was made for {a.shape[1]}-d vectors and this collection's are "
                           f"{dim}-d; {fix}.")
    if not (np.isfinite(a).all() and np.isfinite(b).all()) or max(np.abs(a).max(), np.abs(b).max()) > MAX_WEIGHT:
        raise AdapterError(f"The adapter {name!r} holds weights that are not finite or too large; {fix}.")
    return Adapter(a, b, saved(data_dir, collection).get(name, {}))


def stamp(data_dir: Path, collection: str, name: str) -> float:
    """When the adapter was last written (0 if never): a retrained adapter is a new one for caches."""
    _check(name)
    path = _folder(data_dir, collection) / f"{name}.npz"
    return path.stat().st_mtime_ns if path.exists() else 0


def drop(data_dir: Path, collection: str, name: str) -> None:
    _check(name)
    for suffix in (".npz", ".json"):
        (_folder(data_dir, collection) / f"{name}{suffix}").unlink(missing_ok=True)
