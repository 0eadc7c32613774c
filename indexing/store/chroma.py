"""The Chroma store: one cosine collection per model, content-hash ids, batched idempotent upserts."""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import chromadb
import chromadb.errors
import numpy as np

from indexing.core.errors import SimLabError
from indexing.store.generation import read_generation
from indexing.core.settings import Settings

# Our own metadata keys; user metadata (CSV columns, demo attributes) is stored beside them.
KIND, NAME, SOURCE, TRUNCATED = "simlab_kind", "simlab_name", "simlab_source", "simlab_truncated"
RESERVED = frozenset({KIND, NAME, SOURCE, TRUNCATED})


class StoreUnavailable(SimLabError, RuntimeError):
    """The store cannot be reached or opened; the message says what to check."""


class StoreStopped(StoreUnavailable):
    """The store stopped taking writes part-way (server gone, disk full); the message names the cause."""


DISK_FULL_SIGNS = ("disk is full", "no space left", "disk i/o error", "error in compaction", "enospc")


def store_failure(exc: BaseException) -> str:
    """One line naming why a store call failed, in terms a user can act on."""
    text = f"{type(exc).__name__}: {exc}".lower()
    if any(sign in text for sign in DISK_FULL_SIGNS):
        return "no space left on the disk that holds the data directory (free some space)"
    if any(sign in text for sign in ("connect", "protocol", "timeout", "timed out", "refused", "reset by peer")):
        return "the Chroma server stopped answering (start it again)"
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    return f"the store refused the write: {first}"


def _item_refusal(exc: BaseException) -> bool:
    """Whether the error is about the items sent (metadata, ids), not about the store itself."""
    return isinstance(exc, (ValueError, TypeError, chromadb.errors.InvalidArgumentError))


class DimensionMismatch(SimLabError, ValueError):
    """Vectors of the wrong size for this collection."""


@dataclass
class Record:
    """An item as stored: id, kind, name, text (for text items), user metadata and optionally its vector."""

    id: str
    kind: str
    name: str
    text: str | None
    metadata: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    truncated: bool = False
    embedding: np.ndarray | None = None

    @classmethod
    def from_chroma(cls, id_: str, meta: dict | None, doc: str | None, emb=None) -> "Record":
        meta = dict(meta or {})
        return cls(
            id=id_,
            kind=str(meta.get(KIND, "")),
            name=str(meta.get(NAME, "")),
            text=doc if meta.get(KIND) == "text" else None,
            metadata={k: v for k, v in meta.items() if k not in RESERVED},
            source=str(meta.get(SOURCE, "")),
            truncated=bool(meta.get(TRUNCATED, False)),
            embedding=None if emb is None else np.asarray(emb, dtype=np.float32),
        )

    def with_score(self, score: float) -> "Hit":
        """This record as a search result with cosine similarity ``score``."""
        return Hit(**{**self.__dict__, "score": float(score)})


@dataclass
class Hit(Record):
    """A search result: a record with its cosine similarity to the query."""

    score: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "score": round(self.score, 6), "kind": self.kind, "name": self.name,
                "text": self.text, "metadata": self.metadata}


def open_client(settings: Settings):
    """An embedded ``PersistentClient`` under the data dir, an ``HttpClient`` when CHROMA_HOST is set, or a
    ``CloudClient`` when CHROMA_API_KEY is."""
    try:
        if settings.chroma_api_key:
            client = chromadb.CloudClient(tenant=settings.chroma_tenant, database=settings.chroma_database,
                                          api_key=settings.chroma_api_key, cloud_host=settings.chroma_cloud_host,
                                          cloud_port=settings.chroma_cloud_port, enable_ssl=settings.chroma_cloud_ssl)
            client.heartbeat()
            return client
        if settings.chroma_host:
            client = chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, ssl=settings.chroma_ssl,
                                         headers=settings.headers or None,
                                         **{k: v for k, v in (("tenant", settings.chroma_tenant),
                                                              ("database", settings.chroma_database)) if v})
            client.heartbeat()
            return client
        path = settings.data_dir / "chroma"
        path.mkdir(parents=True, exist_ok=True)
        seen = read_generation(settings.data_dir)  # before opening: a write in between only costs a reopen
        client = chromadb.PersistentClient(path=str(path))
        client.simlab_generation = seen
        return client
    except Exception as exc:  # chromadb raises connection, auth and file errors of many types
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        for secret in (*settings.headers.values(), settings.chroma_api_key):
            if secret:  # a client library may quote what it was given; nothing secret reaches a screen
                first = first.replace(secret, "***")
        first = first[:200]
        raise StoreUnavailable(f"Cannot open the store ({settings.store_location}): {first}. "
                               "Check that the Chroma server is running and CHROMA_HOST/CHROMA_PORT/CHROMA_HEADERS, "
                               "CHROMA_API_KEY/CHROMA_TENANT/CHROMA_DATABASE for Chroma Cloud, "
                               "or that SIMLAB_DATA is writable.") from exc


def reopen_client(settings: Settings):
    """A fresh client whose view includes other processes' writes (embedded Chroma caches one per path)."""
    from chromadb.api.shared_system_client import SharedSystemClient

    # Clients already handed out keep their own system; only new ones see the files anew.
    SharedSystemClient.clear_system_cache()
    return open_client(settings)


def collection_name(model_key: str, dim: int) -> str:
    """A valid Chroma collection name for a model (one collection per model and dimension)."""
    slug = re.sub(r"[^a-zA-Z0-9._-]+", "-", model_key).strip("-._")[:40] or "model"
    return f"simlab-{slug}-{dim}d"


def _where(kind: str | None, filters: dict[str, str] | None) -> dict | None:
    clauses: list[dict] = [{KIND: kind}] if kind else []
    clauses += [{k: v} for k, v in (filters or {}).items()]
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class Store:
    """One model's collection."""

    def __init__(self, client, model_key: str, model_label: str, dim: int):
        self.client, self.dim = client, dim
        self.name = collection_name(model_key, dim)
        try:
            self.collection = client.get_or_create_collection(
                self.name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}},
                metadata={"model": model_label, "dim": dim})
        except Exception as exc:
            raise StoreUnavailable(f"Cannot open collection {self.name}: {exc}") from exc
        stored_dim = (self.collection.metadata or {}).get("dim")
        if stored_dim is not None and int(stored_dim) != dim:
            raise DimensionMismatch(f"Collection {self.name} holds {stored_dim}-d vectors but the model gives {dim}-d; "
                                    "use another model setting or a fresh SIMLAB_DATA.")
        self.max_batch = int(client.get_max_batch_size())

    def count(self) -> int:
        return self.collection.count()

    def ids(self, page: int = 50_000) -> list[str]:
        """Every stored id (paged reads)."""
        out: list[str] = []
        while got := self.collection.get(include=[], limit=page, offset=len(out))["ids"]:
            out += got
        return out

    def count_kind(self, kind: str) -> int:
        return len(self.collection.get(where={KIND: kind}, include=[])["ids"])

    def existing(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` are already stored."""
        found: set[str] = set()
        ids = list(dict.fromkeys(ids))
        for i in range(0, len(ids), self.max_batch):
            try:
                found.update(self.collection.get(ids=list(ids[i:i + self.max_batch]), include=[])["ids"])
            except Exception as exc:  # chromadb raises connection and file errors of many types
                raise StoreStopped(store_failure(exc)) from exc
        return found

    def upsert(self, records: Sequence[Record], vectors: np.ndarray) -> list[tuple[Record, str]]:
        """Write records with their vectors, in batches no larger than the client allows.

        A batch the store refuses for its content is written item by item, so only the items it refuses
        fail: they are returned with a reason. A store that stops answering or has no space raises
        ``StoreStopped``; what was written before stays written."""
        if len(records) != len(vectors):
            raise ValueError(f"{len(records)} records but {len(vectors)} vectors")
        if len(records) and vectors.shape[1] != self.dim:
            raise DimensionMismatch(f"vectors are {vectors.shape[1]}-d but collection {self.name} is {self.dim}-d")
        refused: list[tuple[Record, str]] = []
        for i in range(0, len(records), self.max_batch):
            chunk, chunk_vectors = records[i:i + self.max_batch], vectors[i:i + self.max_batch]
            try:
                self._write(chunk, chunk_vectors)
            except Exception as exc:
                if not _item_refusal(exc):
                    raise StoreStopped(store_failure(exc)) from exc
                for record, vector in zip(chunk, chunk_vectors):
                    try:
                        self._write([record], vector[None, :])
                    except Exception as one:
                        if not _item_refusal(one):
                            raise StoreStopped(store_failure(one)) from one
                        refused.append((record, store_failure(one)))
        return refused

    def _write(self, records: Sequence[Record], vectors: np.ndarray) -> None:
        self.collection.upsert(ids=[r.id for r in records], embeddings=vectors.astype(np.float32),
                               metadatas=[_to_chroma(r) for r in records], documents=[r.text or "" for r in records])

    def get(self, ids: Sequence[str], with_vectors: bool = False) -> list[Record]:
        """Records for ``ids`` (missing ids are left out), in the order given."""
        include = ["metadatas", "documents"] + (["embeddings"] if with_vectors else [])
        got = self.collection.get(ids=list(dict.fromkeys(ids)), include=include)
        embs = got.get("embeddings")
        by_id = {
            id_: Record.from_chroma(id_, meta, doc, None if embs is None else embs[j])
            for j, (id_, meta, doc) in enumerate(zip(got["ids"], got["metadatas"], got["documents"]))
        }
        return [by_id[i] for i in ids if i in by_id]

    def query(self, vector: np.ndarray, k: int, kind: str | None = None,
              filters: dict[str, str] | None = None) -> list[Hit]:
        """The ``k`` nearest records to ``vector`` by cosine similarity, best first."""
        total = self.count()
        if total == 0 or k <= 0:
            return []
        res = self.collection.query(query_embeddings=[np.asarray(vector, np.float32)], n_results=min(k, total),
                                    where=_where(kind, filters), include=["metadatas", "documents", "distances"])
        hits = []
        for id_, meta, doc, dist in zip(res["ids"][0], res["metadatas"][0], res["documents"][0], res["distances"][0]):
            hits.append(Record.from_chroma(id_, meta, doc).with_score(1.0 - float(dist)))
        return hits

    def all(self, page: int = 5000) -> tuple[list[Record], np.ndarray]:
        """Every record with its vector (paged reads), in a stable order: (records, (N, dim) array)."""
        records: list[Record] = []
        chunks: list[np.ndarray] = []
        offset = 0
        while True:
            got = self.collection.get(include=["metadatas", "documents", "embeddings"], limit=page, offset=offset)
            if not got["ids"]:
                break
            records += [Record.from_chroma(i, m, d) for i, m, d in zip(got["ids"], got["metadatas"], got["documents"])]
            chunks.append(np.asarray(got["embeddings"], dtype=np.float32))
            offset += len(got["ids"])
        vectors = np.concatenate(chunks) if chunks else np.zeros((0, self.dim), np.float32)
        return records, vectors

    def metadata_values(self, limit: int = 50) -> dict[str, list[str]]:
        """Each user metadata field with up to ``limit`` distinct values, for filter widgets."""
        values: dict[str, set[str]] = {}
        for meta in self.collection.get(include=["metadatas"])["metadatas"] or []:
            for k, v in (meta or {}).items():
                if k not in RESERVED:
                    values.setdefault(k, set()).add(str(v))
        return {k: sorted(v)[:limit] for k, v in sorted(values.items())}


def _to_chroma(r: Record) -> dict[str, Any]:
    meta: dict[str, Any] = {k: v for k, v in r.metadata.items() if k not in RESERVED and v not in (None, "")}
    meta.update({KIND: r.kind, NAME: r.name[:500], SOURCE: r.source[:1000]})
    if r.truncated:
        meta[TRUNCATED] = True
    return meta
