"""Saved queries and graded relevance judgments, durable in SQLite under the data directory.

Every judgment is written when it is made (WAL mode, a busy timeout, one short transaction per write),
so a refresh, a disconnect or a killed server loses at most the click in flight. Several annotators
and several processes may write at once; (query, item, annotator) is updated, never duplicated.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from indexing.store.blobs import atomic_write
from indexing.core.errors import SimLabError
from indexing.core.progress import Progress
from indexing.query.specs import QuerySpec, Source, from_json

DEFAULT_SCALE = {0: "not relevant", 1: "partly", 2: "relevant", 3: "perfect"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS queries (
    qid TEXT PRIMARY KEY, name TEXT NOT NULL, spec TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS judgments (
    qid TEXT NOT NULL, item_id TEXT NOT NULL, annotator TEXT NOT NULL, rel INTEGER NOT NULL,
    updated REAL NOT NULL, PRIMARY KEY (qid, item_id, annotator));
CREATE INDEX IF NOT EXISTS judgments_by_query ON judgments (qid);
"""


class LabelError(SimLabError, ValueError):
    """A label operation that cannot be done as asked; the message says why."""


MAX_ANNOTATOR_CHARS = 100


def checked_annotator(name: object) -> str:
    """The annotator's name, stripped, if it is one: not empty, at most ``MAX_ANNOTATOR_CHARS`` characters,
    no control characters or line breaks; else ``LabelError`` saying which rule it breaks."""
    if not isinstance(name, str) or not name.strip():
        raise LabelError("Say who is judging: an annotator name is required.")
    name = name.strip()
    if len(name) > MAX_ANNOTATOR_CHARS:
        raise LabelError(f"An annotator name is at most {MAX_ANNOTATOR_CHARS} characters ({len(name)} given).")
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in name):
        raise LabelError("An annotator name cannot hold control characters or line breaks; type it again.")
    return name


class PartialWrite(LabelError):
    """A bulk write stopped part-way; ``done`` rows were committed."""

    def __init__(self, message: str, done: int):
        super().__init__(message)
        self.done = done


@dataclass
class SavedQuery:
    """A saved question: its spec re-runs it exactly; imported qrels queries have none."""

    qid: str
    name: str
    spec: QuerySpec | None = None
    problem: str | None = None  # why a stored spec could not be read (it is then not run)

    @property
    def type(self) -> str:
        """'text' / 'image' / 'item' / 'compose' / 'condition', 'imported', or 'unreadable'."""
        if self.spec is not None:
            return self.spec.to_json()["type"]
        return "unreadable" if self.problem else "imported"

    @property
    def family(self) -> str:
        """The query family its runs belong to: 'neighbours' (text, image or item), 'compose', 'condition';
        'imported' or 'unreadable' for those without a spec. Read from the spec, so queries saved before
        runs were named by family are shown under theirs."""
        return self.spec.family if self.spec is not None else self.type

    @property
    def runnable(self) -> QuerySpec:
        """The spec, or ``LabelError`` saying why there is none."""
        if self.spec is None:
            raise LabelError(f"Query {self.qid} {self.problem or 'was imported from qrels and has no specification to run'}.")
        return self.spec


@dataclass(frozen=True)
class Judgment:
    qid: str
    item_id: str
    annotator: str
    rel: int
    updated: float = 0.0


def qrels_of(judgments: list[Judgment]) -> dict[str, dict[str, int]]:
    """One grade per (query, item) from these judgments: the annotators' mean, rounded half up."""
    grades: dict[tuple[str, str], list[int]] = {}
    for j in judgments:
        grades.setdefault((j.qid, j.item_id), []).append(j.rel)
    out: dict[str, dict[str, int]] = {}
    for (qid, item), rels in grades.items():
        out.setdefault(qid, {})[item] = int(sum(rels) / len(rels) + 0.5)
    return out


class LabelStore:
    """The SQLite file ``<data>/labels.sqlite``; safe to share between threads and processes."""

    def __init__(self, data_dir: Path, scale: dict[int, str] | None = None):
        self.path = Path(data_dir) / "labels.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.scale = scale or DEFAULT_SCALE
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout=30000")
            yield db
        finally:
            db.close()

    # ---- queries -------------------------------------------------------------------------
    def save_query(self, name: str, spec: QuerySpec, qid: str | None = None) -> SavedQuery:
        """Store ``spec`` under ``name`` (an uploaded image is copied under the data directory first).

        The same question saved twice is one saved query (renamed if the name changed); ``qid`` updates one."""
        spec = self._keep_images(spec)
        name = name.strip() or spec.label or "query"
        stored = json.dumps(spec.to_json(), sort_keys=True)
        if qid is None:  # the same question (by its key, whichever schema it was saved with) is one saved query
            same = [q.qid for q in self.queries() if q.spec is not None and q.spec.key() == spec.key()]
            qid = same[0] if same else "q-" + uuid.uuid4().hex[:10]
        with self._connect() as db:
            db.execute("INSERT INTO queries (qid, name, spec, created) VALUES (?, ?, ?, ?) "
                       "ON CONFLICT(qid) DO UPDATE SET name=excluded.name, spec=excluded.spec",
                       (qid, name, stored, time.time()))
        return SavedQuery(qid, name, spec)

    def _keep_images(self, spec: QuerySpec) -> QuerySpec:
        """The spec with any uploaded image written to ``queries/<sha>.img`` and referred to by that path."""
        source = spec.origin
        if source is None or source.image is None or source.image_path is not None:
            return spec
        name = f"queries/{hashlib.sha256(source.image).hexdigest()[:24]}.img"
        path = self.path.parent / name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                atomic_write(path, source.image)  # never a half-written image that later runs would reuse
        except OSError as exc:
            raise LabelError(f"Could not keep the query image under the data directory: {exc.strerror}.") from exc
        return spec.with_origin(Source(image_path=name))

    def ensure_query(self, qid: str) -> None:
        """Make an unknown query id (from imported qrels) a saved query with no specification."""
        self.ensure_queries([qid])

    def ensure_queries(self, qids: list[str]) -> None:
        """``ensure_query`` for many ids in one transaction."""
        try:
            with self._connect() as db:
                db.execute("BEGIN")
                db.executemany("INSERT OR IGNORE INTO queries (qid, name, spec, created) VALUES (?, ?, ?, ?)",
                               [(q, q, json.dumps({"type": "imported"}), time.time()) for q in qids])
                db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise PartialWrite(f"No queries were added: {_sqlite_reason(exc)}.", 0) from exc

    def queries(self) -> list[SavedQuery]:
        with self._connect() as db:
            rows = db.execute("SELECT qid, name, spec FROM queries ORDER BY created, qid").fetchall()
        return [_saved(q, n, s) for q, n, s in rows]

    def query(self, qid: str) -> SavedQuery:
        for q in self.queries():
            if q.qid == qid:
                return q
        raise LabelError(f"No saved query {qid!r}; save one from Neighbours, Compose, Condition or the Map.")

    # ---- judgments -----------------------------------------------------------------------
    def judge(self, qid: str, item_id: str, annotator: str, rel: int) -> None:
        """Record (or update) one judgment, committed before returning."""
        if rel not in self.scale:
            raise LabelError(f"Relevance {rel} is outside the scale {min(self.scale)}–{max(self.scale)}.")
        annotator = checked_annotator(annotator)
        try:
            with self._connect() as db:
                db.execute("INSERT INTO judgments (qid, item_id, annotator, rel, updated) VALUES (?, ?, ?, ?, ?) "
                           "ON CONFLICT(qid, item_id, annotator) DO UPDATE SET rel=excluded.rel, "
                           "updated=excluded.updated", (qid, item_id, annotator.strip(), int(rel), time.time()))
        except sqlite3.Error as exc:
            raise LabelError(f"The judgment was not saved: {_sqlite_reason(exc)}; judge it again once fixed.") from exc

    def judge_many(self, rows: list[tuple[str, str, str, int]], batch: int = 5000,
                   progress: Progress | None = None) -> int:
        """Record (qid, item, annotator, grade) rows in transactions of ``batch``; returns how many were
        committed. A failure part-way keeps the committed batches and raises ``LabelError`` saying how many."""
        for name in {a for _, _, a, _ in rows}:
            checked_annotator(name)
        done = 0
        with self._connect() as db:
            for start in range(0, len(rows), batch):
                chunk = [(q, i, a.strip(), int(r), time.time()) for q, i, a, r in rows[start:start + batch]]
                try:
                    db.execute("BEGIN")
                    db.executemany("INSERT INTO judgments (qid, item_id, annotator, rel, updated) VALUES (?, ?, ?, ?, ?) "
                                   "ON CONFLICT(qid, item_id, annotator) DO UPDATE SET rel=excluded.rel, "
                                   "updated=excluded.updated", chunk)
                    db.execute("COMMIT")
                except sqlite3.Error as exc:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    raise PartialWrite(f"Stopped after {done:,} of {len(rows):,} judgments: {_sqlite_reason(exc)}.",
                                       done) from exc
                done += len(chunk)
                if progress:
                    progress(done, len(rows))
        return done

    def judgments(self, qid: str | None = None) -> list[Judgment]:
        sql = "SELECT qid, item_id, annotator, rel, updated FROM judgments"
        args: tuple = ()
        if qid is not None:
            sql, args = sql + " WHERE qid = ?", (qid,)
        with self._connect() as db:
            rows = db.execute(sql + " ORDER BY qid, item_id, annotator", args).fetchall()
        return [Judgment(*r) for r in rows]

    def stamp(self) -> str:
        """Changes whenever a judgment or a saved query changes (two aggregate reads, not the whole table)."""
        with self._connect() as db:
            judged = db.execute("SELECT count(*), max(updated), total(rel) FROM judgments").fetchone()
            saved = db.execute("SELECT count(*), max(created), total(length(spec)), group_concat(qid) FROM queries").fetchone()
        return hashlib.sha256(repr((judged, saved)).encode()).hexdigest()[:16]

    def qrels(self) -> dict[str, dict[str, int]]:
        """One grade per (query, item): the annotators' mean, rounded half up."""
        return qrels_of(self.judgments())


def _saved(qid: str, name: str, stored: str) -> SavedQuery:
    """A stored row as a saved query; a spec this version cannot read is kept, with the reason, not raised."""
    try:
        data = json.loads(stored)
        if data.get("type") == "imported":
            return SavedQuery(qid, name)
        return SavedQuery(qid, name, from_json(data))
    except (ValueError, AttributeError) as exc:  # QueryError is a ValueError, as is bad JSON
        return SavedQuery(qid, name, problem=f"has a specification this version cannot run ({exc})")


def _sqlite_reason(exc: sqlite3.Error) -> str:
    text = str(exc).lower()
    if "disk is full" in text or "disk i/o" in text or "no space" in text:
        return "no space left on the disk that holds the data directory (free some space)"
    return f"the label database said {str(exc)[:120]!r}"
