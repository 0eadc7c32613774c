"""A collection's region vectors, beside its float32 vectors: append-only, memory-mapped files keyed by item id.

Each image keeps its 16 region vectors as 4-bit codes of their directions (a region vector is a unit vector,
so its scale need not be kept: 16 × 512 / 2 = 4,096 bytes for a 512-d model), and one MUVERA encoding of
them as int8 with its scale and its signs packed in bits (3,584 + 4 + 448 bytes): 8,132 bytes per image for
ViT-B-32, 5,060 for the bundled model. The signs make a popcount pre-filter for the int8 inner products.
The encodings are made of the regions minus the collection's mean region (fixed by the first batch,
``centre.npy``): every region shares that direction, and left in it dominates the buckets' means; taking it
away does not change which region of an image is best for a query. Rows are appended (data first, the id
last), so a reader never sees an id whose row is incomplete; a crash mid-append leaves a tail that the next
append overwrites. ``layout.json`` says how the rows were made (dimension, grid, encoding parameters, how the
model was read): files made another way count as empty, and the next pass replaces them.
"""
from __future__ import annotations

import fcntl
import io
import json
import os
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import numpy as np

from indexing.core.errors import InputError
from indexing.store.late_interaction import FDE

LEVELS = 7  # codes -7..7 per component (4 bits)
# Chosen by measurement (python -m benchmarks.region): with the one to three query vectors a text or a box
# gives, few buckets and wide projections recall more than the paper's (20, 3-5, 8-16) for 32-token queries.
FDE_PARAMS = {"reps": 28, "k_sim": 1, "d_proj": 64}  # 3,584 dims
FILES = ("codes.bin", "fde.bin", "signs.bin", "scale.bin")  # one fixed-width row per image in each
SIGNS_PER_SHORTLIST = 4  # the signs keep 4 images per shortlisted one for the int8 inner products
ROWS_PER_BLOCK = 1024  # rows converted to float at once: small blocks stay in cache (5x faster than 8,192)


def encode_codes(regions: np.ndarray) -> np.ndarray:
    """(N, R, d) float → (N, R, d/2) uint8: each region's direction in 4 bits per component, two per byte."""
    peak = np.abs(regions).max(axis=-1, keepdims=True)
    q = np.rint(regions / np.where(peak > 0, peak, 1) * LEVELS).astype(np.int16) + 8  # 1..15
    return (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)


def _unpack(codes: np.ndarray) -> np.ndarray:
    """(…, d/2) uint8 → (…, d) float32 components, even ones first, then odd ones (no interleaving: a
    query permuted the same way, :func:`split_order`, gives the same inner products, and faster)."""
    half = codes.shape[-1]
    out = np.empty(codes.shape[:-1] + (2 * half,), np.uint8)
    np.bitwise_and(codes, 0x0F, out=out[..., :half])
    np.right_shift(codes, 4, out=out[..., half:])
    components = out.view(np.int8).astype(np.float32)
    components -= 8
    return components


def split_order(dim: int) -> np.ndarray:
    """The component order :func:`_unpack` returns."""
    return np.concatenate([np.arange(0, dim, 2), np.arange(1, dim, 2)])


def decode_codes(codes: np.ndarray) -> np.ndarray:
    """(…, R, d/2) uint8 → (…, R, d) float32 unit vectors, in their components' order."""
    split = _unpack(codes)
    half = codes.shape[-1]
    out = np.empty_like(split)
    out[..., 0::2], out[..., 1::2] = split[..., :half], split[..., half:]
    norm = np.linalg.norm(out, axis=-1, keepdims=True)
    return out / np.where(norm > 0, norm, 1)


def maxsim_codes(query: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Chamfer (MaxSim) of ``query`` (m, d) with images stored as codes (N, R, d/2): the same scores as
    ``chamfer(query, decode_codes(codes))``, ten times faster (no interleaving; the lengths divide the scores)."""
    regions = _unpack(codes)
    raw = np.einsum("md,Nrd->Nmr", query[:, split_order(query.shape[1])], regions, optimize=True)
    length = np.sqrt(np.einsum("Nrd,Nrd->Nr", regions, regions))
    return (raw / np.where(length > 0, length, 1)[:, None, :]).max(axis=2).sum(axis=1)


class RegionFiles:
    """``<data>/regions/<collection>/``: codes.bin, fde.bin (int8), signs.bin (bits), scale.bin (float32), ids.txt."""

    def __init__(self, data_dir: Path | str, collection: str, dim: int, regions: int = 16, reading: str = ""):
        if dim % 2:
            raise ValueError("Region codes pack two components per byte: the dimension must be even.")
        self.root = Path(data_dir) / "regions" / collection
        self.dim, self.regions = dim, regions
        self.fde = FDE(dim, **FDE_PARAMS)
        self.layout = {"format": 2, "dim": dim, "regions": regions, "fde": FDE_PARAMS, "reading": reading}
        self._index: tuple[tuple, dict[str, int]] | None = None
        self._lines: tuple[tuple, int] | None = None  # ids.txt's line count, for the file as it was stat'ed

    def _current(self) -> bool:
        """Whether the files (if any) were made the way this reader reads them."""
        path = self._path("layout.json")
        try:
            return json.loads(path.read_text(encoding="utf-8")) == self.layout
        except (OSError, ValueError):
            return not self._path("ids.txt").exists()  # no files yet: nothing stale

    @cached_property
    def row_bytes(self) -> tuple[int, int, int, int]:
        """Bytes per image in each of FILES: codes, int8 encoding, its signs in bits, its scale."""
        return self.regions * self.dim // 2, self.fde.size, -(-self.fde.size // 8), 4

    @property
    def bytes_per_image(self) -> int:
        return sum(self.row_bytes)

    def _path(self, name: str) -> Path:
        return self.root / name

    def _ids_stamp(self) -> tuple[int, int, int]:
        """ids.txt's identity and size: it changes when ids are appended or the file is made anew."""
        try:
            info = self._path("ids.txt").stat()
        except OSError:
            return 0, 0, 0
        return info.st_ino, info.st_mtime_ns, info.st_size

    def _listed(self) -> int:
        """How many ids ids.txt lists (read once per change of the file, not on every call)."""
        stamp = self._ids_stamp()
        if self._lines is None or self._lines[0] != stamp:
            path = self._path("ids.txt")
            self._lines = (stamp, path.read_bytes().count(b"\n") if stamp[2] else 0)
        return self._lines[1]

    def count(self) -> int:
        """How many images have complete rows (none while the files were made another way)."""
        if not self._path("ids.txt").exists() or not self._current():
            return 0
        sizes = [self._path(n).stat().st_size // b if self._path(n).exists() else 0
                 for n, b in zip(FILES, self.row_bytes)]
        return min(self._listed(), *sizes)

    def index(self) -> dict[str, int]:
        """item id → row, for the complete rows (reread when ids.txt changed: it grew, or was made anew)."""
        n = self.count()
        stamp = (n, *self._ids_stamp())
        if self._index is None or self._index[0] != stamp:
            lines = self._path("ids.txt").read_text(encoding="utf-8").split("\n")[:n] if n else []
            self._index = (stamp, {item: row for row, item in enumerate(lines)})
        return self._index[1]

    def _replace(self, name: str, data: bytes) -> None:
        """Write a small file whole (a temporary file renamed over it): readers see the old or the new one."""
        tmp = self._path(name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, self._path(name))

    @contextmanager
    def _locked(self):
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self._path("lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def append(self, ids: list[str], regions: np.ndarray) -> int:
        """Store the region vectors (N, R, d) of items not stored yet; returns how many were added."""
        with self._locked():
            stale = not self._current()
            if stale:  # made another way (an older SimLab, another reading): start again
                for name in ("ids.txt", *FILES, "centre.npy"):
                    self._path(name).unlink(missing_ok=True)
                self._index = None
            if stale or not self._path("layout.json").exists():
                self._replace("layout.json", json.dumps(self.layout).encode())
            seen = set(self.index())  # stored, then this batch's own: each id once
            keep = []
            for i, item in enumerate(ids):
                if item not in seen and "\n" not in item:
                    seen.add(item)
                    keep.append(i)
            if not keep:
                return 0
            codes = encode_codes(np.asarray(regions, np.float32)[keep])
            stored = decode_codes(codes)  # what is searched is what is stored
            if not self._path("centre.npy").exists():
                buffer = io.BytesIO()
                np.save(buffer, stored.reshape(-1, self.dim).mean(axis=0))
                self._replace("centre.npy", buffer.getvalue())
            fdes = self.fde.documents(stored - self.centre())
            scale = np.abs(fdes).max(axis=1) / 127
            q = np.rint(fdes / np.where(scale > 0, scale, 1)[:, None]).astype(np.int8)
            n = self.count()
            signs = np.packbits(q > 0, axis=1)
            for name, data, row in zip(FILES, (codes, q, signs, scale.astype(np.float32)), self.row_bytes):
                with open(self._path(name), "r+b" if self._path(name).exists() else "wb") as f:
                    f.truncate(n * row)  # drop a tail an interrupted append left
                    f.seek(n * row)
                    f.write(np.ascontiguousarray(data).tobytes())
                    f.flush()
                    os.fsync(f.fileno())
            added = "".join(f"{ids[i]}\n" for i in keep).encode("utf-8")
            if self._listed() == n and self._ends_a_line():
                with open(self._path("ids.txt"), "ab") as f:  # the usual case: ids follow their rows
                    f.write(added)
            else:  # an interrupted append left ids past the rows: keep the first n
                listed = self._path("ids.txt").read_bytes().split(b"\n")[:n]
                self._replace("ids.txt", b"".join(line + b"\n" for line in listed) + added)
            return len(keep)

    def _ends_a_line(self) -> bool:
        """Whether ids.txt is empty, missing, or ends with a whole line (not a cut one)."""
        path = self._path("ids.txt")
        if not path.exists() or path.stat().st_size == 0:
            return True
        with path.open("rb") as f:
            f.seek(-1, os.SEEK_END)
            return f.read(1) == b"\n"

    def centre(self) -> np.ndarray:
        """The mean region the encodings are made relative to (zeros before the first append)."""
        path = self._path("centre.npy")
        if not path.exists():
            return np.zeros(self.dim, np.float32)
        try:
            centre = np.load(path, allow_pickle=False).astype(np.float32)
        except (OSError, ValueError):
            centre = None
        if centre is None or centre.shape != (self.dim,):
            raise InputError(f"{path} is damaged; delete {self.root} and compute the regions again "
                             "(python -m indexing regions).")
        return centre

    def query_fde(self, tokens: np.ndarray) -> np.ndarray:
        """A query's encoding, relative to the same mean region as the images'."""
        return self.fde.query(np.asarray(tokens, np.float32) - self.centre())

    def _map(self, name: str, dtype, width: int, n: int) -> np.ndarray:
        if n == 0:
            return np.zeros((0, width), dtype)
        return np.memmap(self._path(name), dtype=dtype, mode="r", shape=(n, width))

    def _codes(self, n: int) -> np.ndarray:
        return self._map("codes.bin", np.uint8, self.row_bytes[0], n).reshape(n, self.regions, self.dim // 2)

    def regions_of(self, rows: np.ndarray) -> np.ndarray:
        """The region vectors (len(rows), R, d) of these rows, decoded from their codes."""
        return decode_codes(np.asarray(self._codes(self.count())[np.asarray(rows, np.int64)]))

    def maxsim(self, tokens: np.ndarray, rows: np.ndarray, block: int = 4096) -> np.ndarray:
        """Exact Chamfer (MaxSim) of query vectors (m, d) with these rows' regions, read from their codes."""
        rows, codes = np.asarray(rows, np.int64), self._codes(self.count())
        tokens = np.asarray(tokens, np.float32)
        out = np.empty(len(rows), np.float32)
        for s in range(0, len(rows), block):
            out[s:s + block] = maxsim_codes(tokens, np.asarray(codes[rows[s:s + block]]))
        return out

    def first_pass(self, tokens: np.ndarray, rows: np.ndarray, shortlist: int) -> np.ndarray:
        """Estimated Chamfer similarity of these rows to query vectors (m, d), for choosing ``shortlist`` of them.

        The signs of the encodings (Hamming distance, a popcount) keep SIGNS_PER_SHORTLIST × shortlist of the
        rows; those get the int8 encodings' inner product. The rest are ordered by Hamming distance below them."""
        rows = np.asarray(rows, np.int64)
        n = self.count()
        query = self.query_fde(tokens)
        keep = min(len(rows), max(SIGNS_PER_SHORTLIST * shortlist, 1))
        if keep < len(rows):
            width = self.row_bytes[2]
            word = np.uint64 if width % 8 == 0 else np.uint8  # 64 bits per popcount where the rows allow
            bits = np.packbits(query > 0).view(word)
            signs = self._map("signs.bin", np.uint8, width, n)
            far = np.empty(len(rows), np.int32)
            for s in range(0, len(rows), 8 * ROWS_PER_BLOCK):
                block = np.asarray(signs[rows[s:s + 8 * ROWS_PER_BLOCK]]).view(word)
                far[s:s + 8 * ROWS_PER_BLOCK] = np.bitwise_count(block ^ bits).sum(axis=1, dtype=np.int32)
            kept = np.sort(np.argpartition(far, keep - 1)[:keep])
        else:
            kept = np.arange(len(rows))
        fde = self._map("fde.bin", np.int8, self.fde.size, n)
        scale = self._map("scale.bin", np.float32, 1, n)[:, 0]
        near = np.empty(len(kept), np.float32)
        for s in range(0, len(kept), ROWS_PER_BLOCK):
            part = rows[kept[s:s + ROWS_PER_BLOCK]]
            near[s:s + ROWS_PER_BLOCK] = (fde[part].astype(np.float32) @ query) * scale[part]
        if len(kept) == len(rows):
            return near
        out = (near.min() - 1.0 - far / (8.0 * self.row_bytes[2])).astype(np.float32)  # below every kept row
        out[kept] = near
        return out
