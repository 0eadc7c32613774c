"""Safe reading of ``.zip`` uploads: nothing is extracted to disk, and every limit is enforced
on bytes actually read, not on what the archive's headers claim."""
from __future__ import annotations

import io
import stat
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

from indexing.ingest.media import MediaError

MAX_ENTRIES = 10_000
MAX_ENTRY_BYTES = 64 * 1024 * 1024
MAX_TOTAL_BYTES = 2 * 1024 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed, above which an entry is treated as a bomb
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Entry:
    """A zip member that passed the path checks; ``read()`` enforces the size limits."""

    archive: zipfile.ZipFile
    info: zipfile.ZipInfo
    source: str

    @property
    def name(self) -> str:
        return PurePosixPath(self.info.filename).name


class ZipBudget:
    """Counts bytes read across one archive so the total stays bounded."""

    def __init__(self, limit: int | None = None):
        self.limit, self.used = MAX_TOTAL_BYTES if limit is None else limit, 0

    def read(self, entry: Entry) -> bytes:
        info = entry.info
        if info.compress_size and info.file_size / info.compress_size > MAX_RATIO and info.file_size > _CHUNK:
            raise MediaError(f"compression ratio {info.file_size // info.compress_size}:1 looks like a zip bomb")
        out = io.BytesIO()
        with entry.archive.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                out.write(chunk)
                self.used += len(chunk)
                if out.tell() > MAX_ENTRY_BYTES:
                    raise MediaError(f"entry larger than {MAX_ENTRY_BYTES // 2**20} MiB uncompressed")
                if self.used > self.limit:
                    raise MediaError(f"archive expands beyond {self.limit // 2**20} MiB; refused as a zip bomb")
        return out.getvalue()


def unsafe_reason(info: zipfile.ZipInfo) -> str | None:
    """Why a member must not be used (absolute path, '..', symlink), or None."""
    name = info.filename.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "absolute path in archive; refused"
    if ".." in PurePosixPath(name).parts:
        return "path escapes the archive ('..'); refused"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "symbolic link in archive; refused"
    return None


def open_zip(data: bytes, source: str) -> tuple[zipfile.ZipFile, list[Entry | tuple[str, str]]]:
    """Open an archive and list its members: usable ``Entry``s, or (source, reason) failures."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError) as exc:
        raise MediaError(f"not a readable zip archive: {exc}") from None
    infos = [i for i in archive.infolist() if not i.is_dir()]
    if len(infos) > MAX_ENTRIES:
        raise MediaError(f"archive has {len(infos):,} entries (limit {MAX_ENTRIES:,}); split it")
    members: list[Entry | tuple[str, str]] = []
    for info in infos:
        origin = f"{source}/{info.filename}"
        parts = PurePosixPath(info.filename).parts
        if parts and (parts[0] == "__MACOSX" or parts[-1].startswith(".")):
            continue  # resource forks and hidden files are not content
        reason = unsafe_reason(info)
        if reason:
            members.append((origin, reason))
        elif info.filename.lower().endswith(".zip"):
            members.append((origin, "nested archive; not recursed (unzip it and upload its files)"))
        else:
            members.append(Entry(archive, info, origin))
    return archive, members
