"""Region vectors for stored images that have none: after every ingest (its new images), and for a collection
ingested before region search existed (a background job with progress, like a model comparison's re-encode).

Images are read back from their stored originals, so one code path serves both, and a pass that stops
part-way keeps what it wrote: the next pass computes only what is still missing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Sequence

from indexing.core.errors import SimLabError
from indexing.core.progress import Progress
from indexing.ingest.media import MAX_IMAGE_BYTES, MediaError, decode_image, read_bounded
from indexing.model.encoder import Encoder
from indexing.model.regions import region_vectors, regions_available
from indexing.store.blobs import Blobs
from indexing.store.chroma import Record
from indexing.store.region_files import RegionFiles

READ_PX = 256  # originals are decoded at least this large (the region pass reads them at 192-224 px)


@dataclass
class RegionPass:
    """What a pass did: images given regions, and the ones that could not be read (id, one-line reason)."""

    added: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


def missing(records: Sequence[Record], files: RegionFiles) -> list[Record]:
    """The images among ``records`` with no region vectors yet."""
    known = files.index()
    return [r for r in records if r.kind == "image" and r.id not in known]


def compute_regions(encoder: Encoder, records: Sequence[Record], blobs: Blobs, files: RegionFiles,
                    progress: Progress | None = None) -> RegionPass:
    """Region vectors for every image in ``records`` that has none, batch by batch (each batch kept as soon as
    it is computed). A model without a dense path computes nothing (``regions_available``)."""
    out = RegionPass()
    todo = missing(records, files)
    if not todo or not regions_available(encoder):
        return out
    step = max(1, encoder.batch_size)
    for start in range(0, len(todo), step):
        batch, pictures = [], []
        for record in todo[start:start + step]:
            path = blobs.original_path(record.id)
            try:
                if path is None:
                    raise MediaError("its original is not stored; re-ingest it")
                pictures.append(decode_image(read_bounded(path, MAX_IMAGE_BYTES, "image"), READ_PX))
                batch.append(record.id)
            except (MediaError, SimLabError, OSError) as exc:
                out.failed.append((record.id, str(exc).splitlines()[0] if str(exc) else type(exc).__name__))
        if batch:
            out.added += files.append(batch, region_vectors(encoder, pictures))
        if progress:
            progress(min(start + step, len(todo)), len(todo))
    return out
