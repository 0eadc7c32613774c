"""The entry point: settings → (model spec, encoder, store, blobs), everything that belongs together."""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from indexing.query.adapter import Adapter, load as load_adapter, stamp as adapter_stamp
from indexing.store.blobs import Blobs
from indexing.model.encoder import Encoder
from indexing.core.errors import InputError, SimLabError
from indexing.model.explain import Heatmap, Why, heatmap
from indexing.ingest.media import decode_image
from indexing.store.generation import WRITING, bump_generation, read_generation
from indexing.ingest.pipeline import Ingestor, Summary
from indexing.ingest.sources import Failure, Plan
from indexing.ingest.region_pass import RegionPass, compute_regions
from indexing.model.zoo import ModelSpec, resolve_model
from indexing.core.progress import Progress
from indexing.labels.judging import RUN_DEPTH
from indexing.query.runner import Context, Results, Snapshot, run, why_target
from indexing.query.specs import QuerySpec
from indexing.core.settings import Settings, load_settings
from indexing.store.chroma import Record, Store, open_client, reopen_client
from indexing.store.vector_files import VectorFiles
from indexing.store.region_files import RegionFiles
from indexing.model.regions import GRID, READING
from indexing.store.write_lock import write_lock

SAVED_SCORES_KEPT = 50_000_000  # saved queries' results held in memory: at most this many scores (200 MB) in all
EXPLAIN_PX = 600  # an image is explained from a decoding at least this wide (the heatmap reads it at ≤ 576 px)


@dataclass
class Lab:
    """One model's view of the data: encode, ingest, answer queries and count."""

    settings: Settings
    encoder: Encoder
    store: Store
    blobs: Blobs
    _snapshot: tuple[str, Snapshot] | None = field(default=None, repr=False)
    _adapted: tuple[tuple, Adapter, np.ndarray] | None = field(default=None, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _seen: str | None = field(default=None, repr=False)  # the write generation this lab's client reflects
    _own: str | None = field(default=None, repr=False)  # the token of this lab's own write in progress
    _regions: RegionFiles | None = field(default=None, repr=False)
    _counted: tuple[str, int] | None = field(default=None, repr=False)  # the count at one write generation
    _saved: OrderedDict = field(default_factory=OrderedDict, repr=False)  # saved_results' cache, newest last

    def __post_init__(self) -> None:
        if self._seen is None:  # what the client saw when it was opened ("?" forces a reopen)
            self._seen = getattr(self.store.client, "simlab_generation", "?")

    def sync(self) -> bool:
        """Reopen the embedded store if another process wrote since this lab last looked; True if it did.

        One small file read; call it at the start of every page run. Server mode needs nothing: the
        server is the only process that holds the collection.
        """
        if self.settings.remote:
            return False
        with self._lock:
            now = read_generation(self.settings.data_dir)
            if now == self._own or (now == self._seen and not now.startswith(WRITING)):
                return False  # a write under way (or killed part-way) elsewhere: reopen on every run until done
            client = reopen_client(self.settings)
            self.store = Store(client, self.spec.key, self.spec.label, self.encoder.dim)
            self._seen, self._snapshot = client.simlab_generation, None
            return True

    def version(self) -> str:
        """Identifies the collection's content for caches: changes with every write, in any process.

        The embedded store is counted once per write generation (every write bumps it, in any process), so the
        many caches of one page run cost one small file read each; a server's collection, a write under way
        and one killed part-way are counted every time."""
        self.sync()
        seen = self._seen or "-"
        if self.settings.remote or self._own is not None or seen.startswith(WRITING) or seen == "?":
            return f"{seen}:{self.store.count()}"
        with self._lock:
            if self._counted is None or self._counted[0] != seen:
                self._counted = (seen, self.store.count())
            return f"{seen}:{self._counted[1]}"

    def snapshot(self) -> Snapshot:
        """Every record and its vector (with lookups), fetched once per collection version; the vectors are
        memory-mapped from their one file (``vector_files``), shared with the map fit and other processes."""
        with self._lock:
            version = self.version()
            if self._snapshot is None or self._snapshot[0] != version:
                records, vectors = self.store.all()
                shared = VectorFiles(self.settings.data_dir).share(self.store.name, [r.id for r in records], vectors,
                                                                   str(self.store.collection.id))
                self._snapshot = (version, Snapshot(records, shared))
            return self._snapshot[1]

    def vectors(self) -> tuple[list[Record], np.ndarray]:
        """Every record and its vector, fetched once per collection version."""
        snapshot = self.snapshot()
        return snapshot.records, snapshot.vectors

    def run(self, spec: QuerySpec, k: int | None = None, grades: dict[str, int] | None = None) -> Results:
        """Answer a query spec over the current collection (``query_runner.run``); ``grades`` feed its feedback."""
        return run(spec, Context(self.encoder, self.snapshot(), self.settings.data_dir, grades or {}, self.adapted,
                                 regions=self.regions), k)

    def saved_results(self, spec: QuerySpec, grades: dict[str, int] | None = None) -> Results:
        """A saved query's results to ``RUN_DEPTH`` — what Label pools and measures, what the cut-off and the
        adapters learn from, and what the command line exports — run once per collection version, spec (its
        ``key``), saved adapter and, with feedback, its grades; then served from memory."""
        used = sorted((grades or {}).items()) if spec.feedback else []
        stamp = adapter_stamp(self.settings.data_dir, self.store.name, spec.adapter) if spec.adapter else 0
        ready = self.regions.count() if spec.by_regions else 0  # a region pass adds images without a write
        version = self.version()
        key = (version, spec.key(), repr(used), stamp, ready)
        with self._lock:
            if key in self._saved:
                self._saved.move_to_end(key)
                return self._saved[key]
        results = self.run(spec, k=RUN_DEPTH, grades=dict(used))
        with self._lock:
            for old in [k for k in self._saved if k[0] != version]:  # results of an older collection
                del self._saved[old]
            self._saved[key] = results
            cells = lambda r: len(r.snapshot.records) * len(r.scored.scores)  # noqa: E731
            while len(self._saved) > 1 and sum(map(cells, self._saved.values())) > SAVED_SCORES_KEPT:
                self._saved.popitem(last=False)
        return results

    def why(self, spec: QuerySpec) -> Why:
        """What the results of ``spec`` are explained against (``query_runner.why_target``)."""
        return why_target(spec, Context(self.encoder, self.snapshot(), self.settings.data_dir, regions=self.regions))

    def explained(self, item_id: str, why: Why, method: str = "dense",
                  width: int = EXPLAIN_PX) -> tuple[Image.Image, Heatmap]:
        """The stored image ``item_id`` (upright, RGB, at most ``width`` wide) and where it matches ``why``, from
        one decoding of the original; a one-line error if it has none (or the model lacks ``method``)."""
        path = self.blobs.original_path(item_id)
        if path is None:
            raise InputError(f"Item {item_id} has no stored image to explain; re-ingest it.")
        picture = decode_image(path.read_bytes(), EXPLAIN_PX)
        picture.thumbnail((EXPLAIN_PX, EXPLAIN_PX * 4), Image.Resampling.LANCZOS)
        heat = heatmap(self.encoder, picture, why.vector, method)
        picture.thumbnail((width, width * 4), Image.Resampling.LANCZOS)  # never enlarges
        return picture, heat

    def adapted(self, name: str) -> tuple[Adapter, np.ndarray]:
        """A saved adapter and the collection's vectors through it, computed once per version and adapter."""
        with self._lock:
            key = (self.version(), name, adapter_stamp(self.settings.data_dir, self.store.name, name))
            if self._adapted is None or self._adapted[0] != key:
                vectors = self.snapshot().vectors
                adapter = load_adapter(self.settings.data_dir, self.store.name, name, vectors.shape[1])
                self._adapted = (key, adapter, adapter.apply(vectors))
            return self._adapted[1], self._adapted[2]

    @property
    def regions(self) -> RegionFiles:
        """This collection's region vectors (``indexing.store.region_files``)."""
        if self._regions is None or self._regions.root.name != self.store.name:
            self._regions = RegionFiles(self.settings.data_dir, self.store.name, self.encoder.dim, GRID * GRID, READING)
        return self._regions

    @property
    def spec(self) -> ModelSpec:
        return self.encoder.spec

    def ingest(self, plan: Plan, progress: Progress | None = None, engine: str = "plain",
               ray_address: str | None = None) -> Summary:
        """Run a plan into the store, in this process (``plain``) or on a Ray cluster (``ray``: a local one unless
        ``ray_address``); refused at once (``StoreBusy``) while another process is writing."""
        with write_lock(self.settings.data_dir):
            with self._lock:
                self.sync()  # write through a client that has seen the other writers' items
                self._own = bump_generation(self.settings.data_dir, writing=True)
                store = self.store
            try:
                if engine == "ray":
                    from indexing.ingest.ray_pipeline import run_on_ray

                    summary = run_on_ray(plan, self.encoder, store, self.blobs, self.settings.device,
                                         self.settings.batch_size, progress, ray_address)
                else:
                    summary = Ingestor(self.encoder, store, self.blobs, self.settings.batch_size,
                                       self.settings.decode_workers).run(plan, progress)
                if summary.added_images and self.settings.regions:
                    self._regions_of_new(summary)
                return summary
            finally:
                with self._lock:
                    self._own = None
                    try:  # others reopen; this lab's own client already holds what it wrote
                        done = bump_generation(self.settings.data_dir)
                    except OSError:  # a full disk: the "writing" token stays, so readers keep reopening
                        done = None
                    if done is not None and self.store is store:
                        self._seen = done

    def _regions_of_new(self, summary: Summary) -> None:
        """The region vectors of the images this ingest added (older images wait for ``compute_regions``); a
        failure is a note of the summary, never the loss of an ingest that succeeded."""
        added = [Record(item, "image", "", None) for item in summary.added_images]
        with summary.stages.timer("regions"):
            try:
                done = compute_regions(self.encoder, added, self.blobs, self.regions)
            except (SimLabError, OSError) as exc:
                summary.notes.append(Failure("region vectors", f"not computed ({exc}); run `python -m indexing "
                                                               "regions` or the button on Neighbours"))
                return
        summary.notes.extend(Failure(item, f"no region vectors: {reason}") for item, reason in done.failed)

    def compute_regions(self, progress: Progress | None = None) -> RegionPass:
        """Region vectors for every stored image that has none (a collection ingested before region search,
        or a pass that stopped part-way); what is computed is kept batch by batch."""
        return compute_regions(self.encoder, self.snapshot().records, self.blobs, self.regions, progress)

    def regions_ready(self) -> tuple[int, int]:
        """(images with region vectors, images) in the collection."""
        records = self.snapshot().records
        images = [r.id for r in records if r.kind == "image"]
        known = self.regions.index()
        return sum(i in known for i in images), len(images)

    def stats(self) -> dict:
        images = self.store.count_kind("image")
        texts = self.store.count_kind("text")
        return {"count": self.store.count(), "images": images, "texts": texts, "model": self.spec.label,
                "model_reason": self.spec.reason, "dim": self.encoder.dim, "collection": self.store.name,
                "store": self.settings.store_location, "data_dir": str(self.settings.data_dir.resolve())}


def load_encoder(spec: ModelSpec, batch_size: int = 32, device: str = "auto") -> Encoder:
    """The encoder for a resolved model spec on ``device`` (``SIMLAB_DEVICE``); raises ``ModelUnavailable`` with
    what can be loaded, or why the device cannot be used."""
    return Encoder(spec, device, batch_size=batch_size)


def open_lab(settings: Settings | None = None, encoder: Encoder | None = None, client=None) -> Lab:
    """Open everything for ``settings`` (default: the environment); pass a cached encoder or client to reuse it."""
    settings = settings or load_settings()
    if encoder is None:
        encoder = load_encoder(resolve_model(settings.model, settings.pretrained), settings.batch_size, settings.device)
    client = client or open_client(settings)
    store = Store(client, encoder.spec.key, encoder.spec.label, encoder.dim)
    return Lab(settings, encoder, store, Blobs(settings.data_dir))
