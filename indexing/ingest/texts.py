"""Text files to text records: ``.txt`` lines, ``.csv`` rows with a ``text`` column, ``.jsonl`` objects."""
from __future__ import annotations

import codecs
import csv
import io
import json
from dataclasses import dataclass, field

from indexing.ingest.media import MediaError

TEXT_SUFFIXES = frozenset({".txt", ".csv", ".jsonl"})
MAX_TEXT_FILE_BYTES = 64 * 1024 * 1024
# One text item: CLIP reads 77 tokens (a few hundred characters); more is kept for reading, up to this.
MAX_TEXT_CHARS = 10_000
csv.field_size_limit(MAX_TEXT_FILE_BYTES)  # Python's default (131,072) aborted a file on one long cell


@dataclass
class TextRecord:
    """One text item as read from a file: its text, metadata and where it came from (line number)."""

    text: str
    line: int
    metadata: dict[str, str] = field(default_factory=dict)
    original_length: int = 0  # set when the text was cut to MAX_TEXT_CHARS

    @classmethod
    def bounded(cls, text: str, line: int, metadata: dict[str, str] | None = None) -> "TextRecord":
        """A record whose text is at most ``MAX_TEXT_CHARS`` long (the cut is remembered)."""
        cut = len(text) if len(text) > MAX_TEXT_CHARS else 0
        return cls(text[:MAX_TEXT_CHARS].strip() if cut else text, line, metadata or {}, cut)


@dataclass
class TextFile:
    """What a text file yielded: records, how many blank entries were skipped, and per-line errors."""

    records: list[TextRecord] = field(default_factory=list)
    blank: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def decode_text(data: bytes) -> str:
    """UTF-16 or UTF-32 with a BOM; UTF-8 (with or without BOM), else Windows-1252, else Latin-1 (never fails)."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return data.decode("utf-32", errors="replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def read_text_file(name: str, data: bytes) -> TextFile:
    """Parse a text file by its suffix; a whole-file problem raises ``MediaError``."""
    if len(data) > MAX_TEXT_FILE_BYTES:
        raise MediaError(f"text file too large ({len(data) / 2**20:.0f} MiB > {MAX_TEXT_FILE_BYTES // 2**20} MiB)")
    text = decode_text(data)  # before the binary check: UTF-16 text is full of NUL bytes
    if "\x00" in text[:8192]:
        raise MediaError("binary content in a text file")
    suffix = name.lower().rsplit(".", 1)[-1]
    if suffix == "csv":
        return _read_csv(text)
    if suffix == "jsonl":
        return _read_jsonl(text)
    return _read_lines(text)


def _read_lines(text: str) -> TextFile:
    out = TextFile()
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            out.records.append(TextRecord.bounded(line.strip(), number))
        else:
            out.blank += 1
    return out


def _read_csv(text: str) -> TextFile:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = [c for c in (reader.fieldnames or []) if c is not None]
    text_column = next((c for c in columns if c.strip().lower() == "text"), None)
    if text_column is None:
        shown = ", ".join(repr(c) for c in columns[:8]) or "none"
        raise MediaError(f"CSV has no 'text' column (columns: {shown}); add a header row with a 'text' column")
    out = TextFile()
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return out
        except csv.Error as exc:  # the file cannot be read past here; what came before is kept
            out.errors.append((reader.line_num + 1, f"unreadable CSV from here on: {exc}"))
            return out
        number = reader.line_num
        value = (row.get(text_column) or "").strip()
        if not value:
            out.blank += 1
            continue
        meta = {str(k).strip(): _scalar(v).strip() for k, v in row.items()
                if k is not None and k != text_column and v not in (None, "")}
        out.records.append(TextRecord.bounded(value, number, meta))


def _read_jsonl(text: str) -> TextFile:
    out = TextFile()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            out.blank += 1
            continue
        try:
            record = _jsonl_record(line, number)
        except MediaError as exc:  # this line only: the rest of the file goes on
            out.errors.append((number, str(exc)))
            continue
        if record is None:
            out.blank += 1
        else:
            out.records.append(record)
    return out


def _jsonl_record(line: str, number: int) -> TextRecord | None:
    """One JSONL line as a record (None for an empty text); ``MediaError`` with the line's one-line reason."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise MediaError(f"invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise MediaError("invalid JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise MediaError(f"invalid JSON: {' '.join(str(exc).split())[:120]}") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        raise MediaError("each line must be a JSON object with a string 'text' field")
    value = obj["text"].strip()
    if not value:
        return None
    try:
        meta = {str(k): _scalar(v) for k, v in obj.items() if k != "text" and v is not None}
    except (RecursionError, ValueError):
        raise MediaError("a metadata value is nested too deeply or too large to keep; flatten it") from None
    for text in (value, *meta, *meta.values()):
        if _lone_surrogate(text):
            raise MediaError("a lone surrogate escape (e.g. \\ud800) is not a character; fix the escape, or "
                             "write the character itself")
    return TextRecord.bounded(value, number, meta)


def _lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True


def _scalar(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
