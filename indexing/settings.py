"""SimLab's settings, read from the environment once per call (never cached globally)."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from indexing.errors import InputError


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with the environment variable that sets it."""

    data_dir: Path = Path("simlab-data")  # SIMLAB_DATA
    model: str = "auto"  # SIMLAB_MODEL
    pretrained: str | None = None  # SIMLAB_PRETRAINED
    chroma_host: str | None = None  # CHROMA_HOST
    chroma_port: int = 8000  # CHROMA_PORT
    chroma_headers: tuple[tuple[str, str], ...] = ()  # CHROMA_HEADERS (JSON) / CHROMA_TOKEN; a tuple keeps it hashable
    batch_size: int = 32  # SIMLAB_BATCH
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
    def store_location(self) -> str:
        if self.chroma_host:
            return f"chroma server http://{self.chroma_host}:{self.chroma_port}"
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
            ("CHROMA_HEADERS / CHROMA_TOKEN", ", ".join(sorted(self.headers)) or "(none)"),
            ("SIMLAB_ALLOWED_EMAILS", f"{len(self.allowed_emails)} entries" if self.allowed_emails
             else "(unset: no sign-in)"),
        ]


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read settings from ``env`` (default: ``os.environ``); bad values raise ``ValueError`` saying which."""
    env = dict(os.environ if env is None else env)
    headers: dict[str, str] = {}
    if env.get("CHROMA_HEADERS"):
        try:
            headers = {str(k): str(v) for k, v in json.loads(env["CHROMA_HEADERS"]).items()}
        except (ValueError, AttributeError) as exc:
            raise InputError('CHROMA_HEADERS must be a JSON object, e.g. {"Authorization": "Bearer TOKEN"}') from exc
    if env.get("CHROMA_TOKEN"):
        headers.setdefault("Authorization", f"Bearer {env['CHROMA_TOKEN']}")
    try:
        port = int(env.get("CHROMA_PORT") or 8000)
        batch = int(env.get("SIMLAB_BATCH") or 32)
    except ValueError as exc:
        raise InputError(f"CHROMA_PORT and SIMLAB_BATCH must be whole numbers: {exc}") from exc
    return Settings(
        data_dir=Path(env.get("SIMLAB_DATA") or "simlab-data"),
        model=env.get("SIMLAB_MODEL") or "auto",
        pretrained=env.get("SIMLAB_PRETRAINED") or None,
        chroma_host=env.get("CHROMA_HOST") or None,
        chroma_port=port,
        chroma_headers=tuple(sorted(headers.items())),
        batch_size=max(1, batch),
        allowed_emails=tuple(sorted({a.strip().lower() for a in (env.get("SIMLAB_ALLOWED_EMAILS") or "").split(",")
                                     if a.strip()})),
    )
