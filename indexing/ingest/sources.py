"""The reader: files, folders, zips and uploads become a ``Plan`` of pending items and failures.

Text files are parsed here (they are small and their item count is needed for progress);
image bytes are only read when the pipeline gets to them, so big folders stay cheap to plan.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from indexing.ingest.archive import Entry, ZipBudget, open_zip
from indexing.ingest.media import IMAGE_SUFFIXES, MAX_IMAGE_BYTES, MediaError, read_bounded
from indexing.ingest.metadata import clean_metadata
from indexing.ingest.texts import MAX_TEXT_CHARS, MAX_TEXT_FILE_BYTES, TEXT_SUFFIXES, read_text_file

Kind = Literal["image", "text"]
MAX_ZIP_BYTES = 1024 * 1024 * 1024  # a zip on disk; its members are bounded again as they are read


def image_id(data: bytes) -> str:
    """Content id of an image: the hash of its bytes."""
    return "img-" + hashlib.sha256(data).hexdigest()[:32]


def text_id(text: str) -> str:
    """Content id of a text item: the hash of its (stripped) text."""
    return "txt-" + hashlib.sha256(text.strip().encode("utf-8")).hexdigest()[:32]


@dataclass
class PendingImage:
    source: str
    name: str
    load: Callable[[], bytes]
    metadata: dict[str, str] = field(default_factory=dict)
    kind: Kind = "image"


@dataclass
class PendingText:
    source: str
    name: str
    text: str
    metadata: dict[str, str] = field(default_factory=dict)
    kind: Kind = "text"


Pending = PendingImage | PendingText


@dataclass
class Failure:
    source: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"source": self.source, "reason": self.reason}


@dataclass
class Plan:
    """What an ingest will do: items to process, failures found while reading, blank lines skipped."""

    items: list[Pending] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    blank: int = 0
    notes: list[Failure] = field(default_factory=list)  # stored, but not as given: cut texts, renamed fields

    def extend(self, other: "Plan") -> None:
        self.items += other.items
        self.failures += other.failures
        self.blank += other.blank
        self.notes += other.notes


def _suffix(name: str) -> str:
    return Path(name).suffix.lower()


def plan_bytes(name: str, data_or_loader: bytes | Callable[[], bytes], source: str | None = None) -> Plan:
    """Plan one named file whose content is given (or loadable later, for images)."""
    source = source or name
    plan = Plan()
    suffix = _suffix(name)
    if suffix in IMAGE_SUFFIXES:
        load = data_or_loader if callable(data_or_loader) else (lambda d=data_or_loader: d)
        plan.items.append(PendingImage(source, Path(name).name, load))
        return plan
    data = data_or_loader() if callable(data_or_loader) else data_or_loader
    try:
        if suffix == ".zip":
            return _plan_zip(data, source)
        if suffix in TEXT_SUFFIXES:
            parsed = read_text_file(name, data)
        else:
            raise MediaError(f"unsupported file type '{suffix or 'no extension'}'; use images "
                             "(jpg, png, webp, gif, bmp, tiff), .txt, .csv, .jsonl or .zip")
    except MediaError as exc:
        plan.failures.append(Failure(source, str(exc)))
        return plan
    plan.blank += parsed.blank
    plan.failures += [Failure(f"{source}:{line}", reason) for line, reason in parsed.errors]
    if not parsed.records and not parsed.errors:
        plan.notes.append(Failure(source, "no text items in this file (empty, or only blank lines)"))
    for rec in parsed.records:
        origin = f"{source}:{rec.line}"
        metadata, renamed = clean_metadata(rec.metadata)
        plan.notes += [Failure(origin, note) for note in renamed]
        if rec.original_length:
            plan.notes.append(Failure(origin, f"text of {rec.original_length:,} characters cut to {MAX_TEXT_CHARS:,}"))
        plan.items.append(PendingText(origin, Path(name).name, rec.text, metadata))
    return plan


def _plan_zip(data: bytes, source: str) -> Plan:
    plan = Plan()
    _, members = open_zip(data, source)
    budget = ZipBudget()
    for member in members:
        if isinstance(member, tuple):
            plan.failures.append(Failure(*member))
            continue
        sub = _plan_entry(member, budget)
        plan.extend(sub)
    return plan


def _plan_entry(entry: Entry, budget: ZipBudget) -> Plan:
    suffix = _suffix(entry.name)
    if suffix in IMAGE_SUFFIXES:
        return plan_bytes(entry.name, lambda: budget.read(entry), entry.source)
    try:
        data = budget.read(entry)
    except MediaError as exc:
        return Plan(failures=[Failure(entry.source, str(exc))])
    return plan_bytes(entry.name, data, entry.source)


def plan_paths(paths: Iterable[str | Path]) -> Plan:
    """Plan files, folders (recursively, hidden files skipped) and zips on disk. Each file's size is checked
    before it is read (devices and pipes are never read); names that are not UTF-8 are shown with U+FFFD."""
    plan = Plan()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and not _hidden(p.relative_to(path)))
        elif path.exists():  # a file; a device or pipe is refused by ``read_bounded`` like any file, unread
            files = [path]
        else:
            plan.failures.append(Failure(shown_name(str(path)), "no such file or folder"))
            continue
        for file in files:
            name, source = shown_name(file.name), shown_name(str(file))
            suffix = _suffix(file.name)
            if suffix in IMAGE_SUFFIXES:
                plan.extend(plan_bytes(name, lambda f=file: read_bounded(f, MAX_IMAGE_BYTES, "image"), source))
                continue
            try:
                data = read_bounded(file, MAX_ZIP_BYTES if suffix == ".zip" else MAX_TEXT_FILE_BYTES)
            except MediaError as exc:
                plan.failures.append(Failure(source, str(exc)))
                continue
            except OSError as exc:
                plan.failures.append(Failure(source, f"cannot read: {exc.strerror}"))
                continue
            plan.extend(plan_bytes(name, data, source))
    return plan


def shown_name(name: str) -> str:
    """A file name as text every store accepts: bytes that are not UTF-8 (a Latin-1 name on disk) become U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def plan_uploads(uploads: Iterable[tuple[str, bytes]]) -> Plan:
    """Plan in-memory uploads given as (file name, bytes)."""
    plan = Plan()
    for name, data in uploads:
        plan.extend(plan_bytes(name, data))
    return plan


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)
