"""The ingest pipeline: plan → load/decode (in worker threads, overlapping the model) → encode → write.

Bad items fail alone with a one-line reason; everything else is stored; re-ingesting adds nothing. Decoding
runs in ``decode_workers`` threads (Pillow and the transforms release the GIL), batches kept in plan order:
one on a CPU, where the model wants every core; up to 16 on a GPU, which would otherwise wait on JPEGs.
"""
from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from indexing.store.blobs import Blobs
from indexing.model.encoder import Encoder
from indexing.core.progress import Progress
from indexing.ingest.media import MediaError, decode_image, one_line, thumbnail_bytes
from indexing.ingest.sources import Failure, Pending, PendingImage, Plan, image_id, text_id
from indexing.store.chroma import Record, Store, StoreStopped, store_failure

MAX_LISTED = 1000  # duplicates named in a summary; the count is always whole


STAGES = ("read_hash", "dedupe", "decode", "thumbnail", "preprocess", "blob_writes", "encode", "store", "waiting",
          "regions")


class Stages:
    """Seconds spent per ingest stage, summed over the threads that ran it (a stage two decode threads ran
    side by side counts both): where an ingest's time goes (``benchmarks.ingest`` prints it)."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(STAGES, 0.0)
        self._lock = threading.Lock()

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.seconds[stage] += seconds

    @contextmanager
    def timer(self, stage: str) -> Iterator[None]:
        """Add the time the ``with`` block takes to ``stage``."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - started)

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in self.seconds.items()}


@dataclass
class Summary:
    """What an ingest did. ``skipped`` are duplicates: ``repeated`` of them repeat an earlier item of the same
    plan (a caption the demo world generates twice, a file uploaded twice), the rest were stored already;
    ``blank`` empty text lines; ``truncated`` long texts."""

    added: int = 0
    skipped: int = 0
    repeated: int = 0
    failed: int = 0
    blank: int = 0
    truncated: int = 0
    errors: list[Failure] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)  # sources of the skipped items, the first MAX_LISTED
    added_sources: list[str] = field(default_factory=list)  # sources of the added items, the first MAX_LISTED
    added_images: list[str] = field(default_factory=list, repr=False)  # ids of every image added (region pass)
    notes: list[Failure] = field(default_factory=list)  # stored, but not exactly as given
    stopped: str = ""  # why the ingest stopped early (store gone, disk full); rerunning completes it
    stages: Stages = field(default_factory=Stages, repr=False)  # where the time went (not in ``as_dict``)

    def fail(self, failure: Failure) -> None:
        self.failed += 1
        self.errors.append(failure)

    def skip(self, sources: list[str], repeated: int = 0) -> None:
        """Duplicates (``repeated`` of them repeats within this plan): all counted, the first ``MAX_LISTED`` named."""
        self.skipped += len(sources)
        self.repeated += repeated
        self.duplicates += sources[:max(0, MAX_LISTED - len(self.duplicates))]

    def add(self, records: list[Record]) -> None:
        """Stored: all counted (long texts counted as cut), the first ``MAX_LISTED`` named."""
        self.added += len(records)
        self.truncated += sum(r.truncated for r in records)
        self.added_sources += [r.source for r in records[:max(0, MAX_LISTED - len(self.added_sources))]]
        self.added_images += [r.id for r in records if r.kind == "image"]

    def stop(self, exc: Exception) -> None:
        """The store stopped part-way: say so, with what was stored and how to complete it."""
        self.stopped = (f"Stopped: {exc}. {self.added} new items were stored before that; run the same "
                        "ingest again to complete it (what is stored is skipped).")

    def as_dict(self) -> dict:
        return {"added": self.added, "skipped": self.skipped, "repeated": self.repeated, "failed": self.failed,
                "blank": self.blank, "truncated": self.truncated, "errors": [e.as_dict() for e in self.errors],
                "duplicates": self.duplicates[:MAX_LISTED], "added_sources": self.added_sources[:MAX_LISTED],
                "notes": [{"source": n.source, "note": n.reason} for n in self.notes[:MAX_LISTED]],
                **({"stopped": self.stopped} if self.stopped else {})}


@dataclass
class Prepared:
    """A batch ready for the model: records, and for images their preprocessed pixels."""

    images: list[Record] = field(default_factory=list)
    pixels: list = field(default_factory=list)
    texts: list[Record] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)  # sources
    repeated: int = 0  # of the duplicates, how many repeat an earlier item of this plan
    size: int = 0
    batch: torch.Tensor | None = None  # the pixels stacked (and pinned, for a GPU) in the decode thread
    blobs: list[tuple[bytes, bytes]] = field(default_factory=list)  # per image: (original, thumbnail) to keep


@dataclass
class _Turns:
    """Batches claim their new ids one at a time and in plan order, whichever finished reading first, so the
    copy of a duplicate that is kept is the plan's first, however many threads decode."""

    seen: set[str] = field(default_factory=set)
    next: int = 0
    cond: threading.Condition = field(default_factory=threading.Condition)


class Ingestor:
    """Runs a ``Plan`` into a store with one encoder; reusable across plans."""

    def __init__(self, encoder: Encoder, store: Store, blobs: Blobs, batch_size: int | None = None,
                 decode_workers: int = 0):
        self.encoder, self.store, self.blobs = encoder, store, blobs
        self.batch_size = batch_size or encoder.batch_size
        self.decode_workers = decode_workers or default_workers(encoder.device)

    def run(self, plan: Plan, progress: Progress | None = None) -> Summary:
        summary = Summary(blank=plan.blank, notes=list(plan.notes))
        for failure in plan.failures:
            summary.fail(failure)
        total, done = len(plan.items), 0
        if progress:
            progress(0, total)
        turns = _Turns()
        try:
            with ThreadPoolExecutor(max_workers=self.decode_workers, thread_name_prefix="simlab-decode") as pool, \
                    ThreadPoolExecutor(max_workers=1, thread_name_prefix="simlab-blobs") as writer:
                prepare = lambda numbered: self._prepare(*numbered, turns, summary.stages)  # noqa: E731
                batches = enumerate(_batches(plan.items, self.batch_size))
                for prepared in _in_order(pool, prepare, batches, self.decode_workers, summary.stages):
                    self._write(prepared, summary, writer)
                    done += prepared.size
                    if progress:
                        progress(done, total)
        except StoreStopped as exc:
            summary.stop(exc)
        return summary

    def _prepare(self, number: int, batch: list[Pending], turns: _Turns, stages: Stages) -> Prepared:
        """Load, hash, de-duplicate (in turn ``number``) and decode one batch (runs in a decode thread)."""
        out = Prepared(size=len(batch))
        candidates: list[tuple[Record, bytes | None, Pending]] = []
        new: list[tuple[Record, bytes | None, Pending]] = []
        read = False
        started = time.perf_counter()
        try:
            for item in batch:
                try:
                    candidates.append((*read_item(item), item))
                except (MediaError, OSError) as exc:
                    out.failures.append(Failure(item.source, str(exc)))
                except Exception as exc:  # any other failure of one item is that item's one-line reason
                    out.failures.append(Failure(item.source, f"unreadable: {one_line(exc)}"))
            read = True
        finally:  # this batch's turn is taken and passed on whatever happened, or later batches would wait forever
            stages.add("read_hash", time.perf_counter() - started)
            started = time.perf_counter()
            with turns.cond:
                turns.cond.wait_for(lambda: turns.next == number)
                try:
                    if read:
                        stored = self.store.existing([r.id for r, _, _ in candidates])
                        for rec, data, item in candidates:
                            if rec.id in stored or rec.id in turns.seen:
                                out.duplicates.append(item.source)
                                out.repeated += rec.id in turns.seen  # claimed earlier in this plan
                            else:
                                turns.seen.add(rec.id)
                                new.append((rec, data, item))
                finally:
                    turns.next += 1
                    turns.cond.notify_all()
            stages.add("dedupe", time.perf_counter() - started)
        for rec, data, item in new:
            if data is None:
                rec.truncated = self.encoder.is_truncated(rec.text or "")
                out.texts.append(rec)
                continue
            try:
                pixels, thumbnail = model_input(data, self.encoder.preprocess, max(self.encoder.image_size, 256),
                                                stages)
                out.pixels.append(pixels)
                out.images.append(rec)
                out.blobs.append((data, thumbnail))  # written while the batch is encoded (``_write``)
            except MediaError as exc:
                out.failures.append(Failure(item.source, str(exc)))
            except StoreStopped:
                raise
            except Exception as exc:  # never a whole batch for one item
                out.failures.append(Failure(item.source, f"cannot be decoded: {one_line(exc)}"))
        if out.pixels:
            with stages.timer("preprocess"):
                out.batch = torch.stack(out.pixels)
                if self.encoder.device == "cuda":
                    out.batch = out.batch.pin_memory()  # here, so the copy to the GPU does not wait on it
        return out

    def _write(self, prepared: Prepared, summary: Summary, writer: ThreadPoolExecutor) -> None:
        for failure in prepared.failures:
            summary.fail(failure)
        summary.skip(prepared.duplicates, prepared.repeated)
        if prepared.images:
            # Originals and thumbnails are written in their own thread while the batch is encoded (off the
            # decode thread, which bounds a small model, and off this one, which a large model keeps busy),
            # and waited for before the store write: a stored item always has its picture.
            writes = [writer.submit(_timed, summary.stages, "blob_writes", keep_blobs, record, data, thumbnail,
                                    self.blobs)
                      for record, (data, thumbnail) in zip(prepared.images, prepared.blobs)]
            with summary.stages.timer("encode"):
                vectors = self.encoder.encode_pixels(prepared.batch)
            kept = []
            for k, write in enumerate(writes):
                try:
                    write.result()
                    kept.append(k)
                except MediaError as exc:
                    summary.fail(Failure(prepared.images[k].source, str(exc)))
            if kept:
                store_batch(self.store, [prepared.images[k] for k in kept], vectors[kept], summary)
        if prepared.texts:
            with summary.stages.timer("encode"):
                vectors = np.asarray(self.encoder.encode_texts([r.text or "" for r in prepared.texts]))
            store_batch(self.store, prepared.texts, vectors, summary)


def store_batch(store: Store, records: list[Record], vectors: np.ndarray, summary: Summary) -> None:
    """Upsert and count: items the store refuses fail alone; the rest are added (long texts counted as cut)."""
    with summary.stages.timer("store"):
        refused = store.upsert(records, vectors)
    for record, reason in refused:
        summary.fail(Failure(record.source, reason))
    bad = {id(r) for r, _ in refused}
    summary.add([r for r in records if id(r) not in bad])


def read_item(item: Pending) -> tuple[Record, bytes | None]:
    """The item's record (its id hashes its content) and, for an image, its bytes (raises on unreadable input)."""
    if isinstance(item, PendingImage):
        data = item.load()
        return Record(image_id(data), "image", item.name, None, dict(item.metadata), item.source), data
    return Record(text_id(item.text), "text", item.name, item.text, dict(item.metadata), item.source), None


def _timed(stages: Stages, stage: str, fn: Callable, *args):
    """``fn(*args)``, its time added to ``stage`` (for work handed to another thread)."""
    with stages.timer(stage):
        return fn(*args)


def keep_image(record: Record, data: bytes, blobs: Blobs, preprocess: Callable, min_side: int,
               stages: Stages | None = None):
    """Decode and check a new image, keep its original and thumbnail, and return the model's input tensor.
    Raises ``MediaError`` for a bad image, ``StoreStopped`` when the disk is full."""
    pixels, thumbnail = model_input(data, preprocess, min_side, stages)
    keep_blobs(record, data, thumbnail, blobs)
    return pixels


def model_input(data: bytes, preprocess: Callable, min_side: int, stages: Stages | None = None):
    """Decode and check an image: the model's input tensor and the thumbnail's JPEG bytes (``MediaError`` for a
    bad image)."""
    stages = stages or Stages()
    with stages.timer("decode"):
        image = decode_image(data, min_side=min_side)
    with stages.timer("thumbnail"):
        thumbnail = thumbnail_bytes(image)
    with stages.timer("preprocess"):
        return preprocess(image), thumbnail


def keep_blobs(record: Record, data: bytes, thumbnail: bytes, blobs: Blobs) -> None:
    """Keep an image's original and thumbnail: ``StoreStopped`` when the disk is full, ``MediaError`` otherwise."""
    try:
        blobs.put(record.id, data, Path(record.name).suffix, thumbnail)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise StoreStopped(store_failure(exc)) from exc
        raise MediaError(f"cannot keep the image under the data directory: {exc.strerror}") from exc


def _batches(items: list[Pending], size: int) -> Iterator[list[Pending]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def default_workers(device: str) -> int:
    """Decode threads when ``SIMLAB_DECODE_WORKERS`` is unset: one beside a CPU model, up to 16 feeding a GPU."""
    return 1 if device == "cpu" else max(1, min(16, os.cpu_count() or 1))


def _in_order(pool: ThreadPoolExecutor, fn: Callable, items: Iterator, ahead: int,
              stages: Stages | None = None) -> Iterator:
    """``fn`` of each item, computed in ``pool`` up to ``ahead`` items in advance, yielded in order (the time
    the caller waits for the next one is ``stages``' "waiting")."""
    pending: list[Future] = []

    stages = stages or Stages()

    def next_result():
        with stages.timer("waiting"):
            return pending.pop(0).result()

    for item in items:
        pending.append(pool.submit(fn, item))
        if len(pending) > ahead:
            yield next_result()
    while pending:
        yield next_result()
