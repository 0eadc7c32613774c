"""The entry point: settings → (model spec, encoder, store, blobs), everything that belongs together."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from indexing.blobs import Blobs
from indexing.encoder import Encoder
from indexing.ingest import Ingestor, Progress, Summary
from indexing.models import ModelSpec, resolve
from indexing.search import Query, neighbours
from indexing.settings import Settings, load_settings
from indexing.sources import Plan
from indexing.store import Hit, Record, Store, open_client
from indexing.writelock import write_lock


@dataclass
class Lab:
    """One model's view of the data: encode, ingest, search and count."""

    settings: Settings
    encoder: Encoder
    store: Store
    blobs: Blobs
    _vectors: tuple[int, list[Record], np.ndarray] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def vectors(self) -> tuple[list[Record], np.ndarray]:
        """Every record and its vector, fetched once per collection version (its item count)."""
        with self._lock:
            count = self.store.count()
            if self._vectors is None or self._vectors[0] != count:
                records, vectors = self.store.all()
                self._vectors = (count, records, vectors)
            return self._vectors[1], self._vectors[2]

    @property
    def spec(self) -> ModelSpec:
        return self.encoder.spec

    def ingest(self, plan: Plan, progress: Progress | None = None) -> Summary:
        """Run a plan into the store; refused at once (``StoreBusy``) while another process is writing."""
        with write_lock(self.settings.data_dir):
            return Ingestor(self.encoder, self.store, self.blobs, self.settings.batch_size).run(plan, progress)

    def search(self, query: Query, k: int = 10, kind: str | None = None,
               filters: dict[str, str] | None = None) -> list[Hit]:
        return neighbours(query, self.encoder, self.store, k, kind, filters)

    def stats(self) -> dict:
        images = self.store.count_kind("image")
        texts = self.store.count_kind("text")
        return {"count": self.store.count(), "images": images, "texts": texts, "model": self.spec.label,
                "model_reason": self.spec.reason, "dim": self.encoder.dim, "collection": self.store.name,
                "store": self.settings.store_location, "data_dir": str(self.settings.data_dir.resolve())}


def load_encoder(spec: ModelSpec, batch_size: int = 32) -> Encoder:
    """The encoder for a resolved model spec (raises ``ModelUnavailable`` with what can be loaded)."""
    return Encoder(spec, batch_size=batch_size)


def open_lab(settings: Settings | None = None, encoder: Encoder | None = None, client=None) -> Lab:
    """Open everything for ``settings`` (default: the environment); pass a cached encoder or client to reuse it."""
    settings = settings or load_settings()
    if encoder is None:
        encoder = load_encoder(resolve(settings.model, settings.pretrained), settings.batch_size)
    client = client or open_client(settings)
    store = Store(client, encoder.spec.key, encoder.spec.label, encoder.dim)
    return Lab(settings, encoder, store, Blobs(settings.data_dir))
