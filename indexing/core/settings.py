"""SimLab's settings, read from the environment once per call (never cached globally)."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from indexing.core.errors import InputError

DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with the environment variable that sets it."""

    data_dir: Path = Path("simlab-data")  # SIMLAB_DATA
    model: str = "auto"  # SIMLAB_MODEL
    pretrained: str | None = None  # SIMLAB_PRETRAINED
    chroma_host: str | None = None  # CHROMA_HOST (a name or address; a URL's scheme and port are read from it)
    chroma_ssl: bool = False  # CHROMA_HOST=https://…
    chroma_port: int = 8000  # CHROMA_PORT
    chroma_headers: tuple[tuple[str, str], ...] = ()  # CHROMA_HEADERS (JSON) / CHROMA_TOKEN; a tuple keeps it hashable
    chroma_api_key: str | None = field(default=None, repr=False)  # CHROMA_API_KEY: Chroma Cloud (never shown)
    chroma_tenant: str | None = None  # CHROMA_TENANT (Cloud; default: the key's own)
    chroma_database: str | None = None  # CHROMA_DATABASE (Cloud; default: the key's own)
    chroma_cloud_host: str = "api.trychroma.com"  # CHROMA_CLOUD_HOST / _PORT / _SSL: another Cloud endpoint
    chroma_cloud_port: int = 443
    chroma_cloud_ssl: bool = True
    batch_size: int = 32  # SIMLAB_BATCH
    device: str = "auto"  # SIMLAB_DEVICE: auto (CUDA when present) | cpu | cuda
    decode_workers: int = 0  # SIMLAB_DECODE_WORKERS: threads decoding images for the model; 0 = by device
    regions: bool = True  # SIMLAB_REGIONS=0: no region vectors at ingest (region search then waits for a pass)
    allowed_emails: tuple[str, ...] = ()  # SIMLAB_ALLOWED_EMAILS: addresses or @domains; empty = no sign-in

    def allows(self, email: str | None) -> bool:
        """Whether a signed-in address is on the allow-list (an entry ``@example.org`` admits the domain)."""
        email = (email or "").strip().lower()
        return bool(email) and any(email == a or (a.startswith("@") and email.endswith(a))
                                   for a in self.allowed_emails)

    @property
    def headers(self) -> dict[str, str]:
        return dict(self.chroma_headers)

    @property
    def remote(self) -> bool:
        """Whether the store is a server (one of yours, or Chroma Cloud) rather than embedded in this process."""
        return bool(self.chroma_host or self.chroma_api_key)

    @property
    def store_location(self) -> str:
        if self.chroma_api_key:
            scheme = "https" if self.chroma_cloud_ssl else "http"
            return (f"Chroma Cloud {scheme}://{self.chroma_cloud_host}:{self.chroma_cloud_port} (tenant "
                    f"{self.chroma_tenant or 'of the key'}, database {self.chroma_database or 'of the key'})")
        if self.chroma_host:
            where = "" if not (self.chroma_tenant or self.chroma_database) else (
                f" (tenant {self.chroma_tenant or 'default_tenant'}, database {self.chroma_database or 'default_database'})")
            return f"chroma server {'https' if self.chroma_ssl else 'http'}://{self.chroma_host}:{self.chroma_port}{where}"
        return f"embedded chroma at {self.data_dir / 'chroma'}"

    def as_rows(self) -> list[tuple[str, str]]:
        """(variable, value) pairs for display; header values are never shown."""
        return [
            ("SIMLAB_DATA", str(self.data_dir.resolve())),
            ("SIMLAB_MODEL", self.model),
            ("SIMLAB_PRETRAINED", self.pretrained or "(default for the model)"),
            ("CHROMA_HOST", self.chroma_host or "(unset: embedded store)"),
            ("CHROMA_PORT", str(self.chroma_port)),
            ("SIMLAB_BATCH", str(self.batch_size)),
            ("SIMLAB_DEVICE", self.device),
            ("SIMLAB_DECODE_WORKERS", str(self.decode_workers or "(by device)")),
            ("SIMLAB_REGIONS", "on" if self.regions else "off"),
            ("CHROMA_HEADERS / CHROMA_TOKEN", ", ".join(sorted(self.headers)) or "(none)"),
            ("CHROMA_API_KEY", "(set: Chroma Cloud)" if self.chroma_api_key else "(unset)"),
            ("CHROMA_TENANT / CHROMA_DATABASE", f"{self.chroma_tenant or '-'} / {self.chroma_database or '-'}"),
            ("SIMLAB_ALLOWED_EMAILS", f"{len(self.allowed_emails)} entries" if self.allowed_emails
             else "(unset: no sign-in)"),
        ]


def _unprintable(text: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read settings from ``env`` (default: ``os.environ``); bad values raise ``ValueError`` saying which."""
    env = dict(os.environ if env is None else env)
    headers: dict[str, str] = {}
    if env.get("CHROMA_HEADERS"):
        try:
            headers = {str(k).strip(): str(v).strip() for k, v in json.loads(env["CHROMA_HEADERS"]).items()}
        except (ValueError, AttributeError, RecursionError):
            raise InputError('CHROMA_HEADERS must be a JSON object, e.g. {"Authorization": "Bearer TOKEN"}') from None
    if (env.get("CHROMA_TOKEN") or "").strip():  # a .env saved on Windows ends each value with \r: stripped
        headers.setdefault("Authorization", f"Bearer {env['CHROMA_TOKEN'].strip()}")
    for name, value in headers.items():  # never echoed: a secret stays off screens and logs
        if _unprintable(name) or _unprintable(value):
            raise InputError(f"CHROMA_HEADERS / CHROMA_TOKEN: the {'value' if not _unprintable(name) else 'name'} of "
                             "a header holds a line break or another control character; fix it where it is set "
                             "(the value is not shown here).")
    if (env.get("CHROMA_TENANT") or env.get("CHROMA_DATABASE")) and not (env.get("CHROMA_HOST")
                                                                           or env.get("CHROMA_API_KEY")):
        raise InputError("CHROMA_TENANT / CHROMA_DATABASE name a tenant and database on a Chroma server: set "
                         "CHROMA_HOST (your server) or CHROMA_API_KEY (Chroma Cloud) too, or unset them for the "
                         "embedded store.")
    try:
        port = int(env.get("CHROMA_PORT") or 8000)
        batch = int(env.get("SIMLAB_BATCH") or 32)
        cloud_port = int(env.get("CHROMA_CLOUD_PORT") or 443)
        workers = int(env.get("SIMLAB_DECODE_WORKERS") or 0)
    except ValueError as exc:
        raise InputError("CHROMA_PORT, CHROMA_CLOUD_PORT, SIMLAB_BATCH and SIMLAB_DECODE_WORKERS must be whole "
                         f"numbers: {exc}") from exc
    device = (env.get("SIMLAB_DEVICE") or "auto").strip().lower()
    if device not in DEVICES:
        raise InputError(f"SIMLAB_DEVICE must be one of {', '.join(DEVICES)}, not {device!r}.")
    host, ssl = (env.get("CHROMA_HOST") or "").strip() or None, False
    if host and "://" in host:  # CHROMA_HOST=http://name:8123 means that server, not http://http://name:8123:8000
        url = urlsplit(host)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise InputError("CHROMA_HOST is a host name or address (or an http:// or https:// URL of the server).")
        host, ssl = url.hostname, url.scheme == "https"
        try:
            port = url.port or port
        except ValueError:
            raise InputError("CHROMA_HOST's port is not a number from 1 to 65535.") from None
    if env.get("CHROMA_HOST") and env.get("CHROMA_API_KEY"):
        raise InputError("Set CHROMA_HOST (a Chroma server of yours) or CHROMA_API_KEY (Chroma Cloud), not both.")
    return Settings(
        data_dir=Path(env.get("SIMLAB_DATA") or "simlab-data"),
        model=env.get("SIMLAB_MODEL") or "auto",
        pretrained=env.get("SIMLAB_PRETRAINED") or None,
        chroma_host=host,
        chroma_ssl=ssl,
        chroma_port=port,
        chroma_headers=tuple(sorted(headers.items())),
        chroma_api_key=env.get("CHROMA_API_KEY") or None,
        chroma_tenant=env.get("CHROMA_TENANT") or None,
        chroma_database=env.get("CHROMA_DATABASE") or None,
        chroma_cloud_host=env.get("CHROMA_CLOUD_HOST") or "api.trychroma.com",
        chroma_cloud_port=cloud_port,
        chroma_cloud_ssl=(env.get("CHROMA_CLOUD_SSL") or "1").lower() not in ("0", "false", "no"),
        batch_size=max(1, batch),
        device=device,
        decode_workers=max(0, workers),
        regions=(env.get("SIMLAB_REGIONS") or "1").lower() not in ("0", "false", "no", "off"),
        allowed_emails=tuple(sorted({a.strip().lower() for a in (env.get("SIMLAB_ALLOWED_EMAILS") or "").split(",")
                                     if a.strip()})),
    )
