"""Share a view through the URL: session keys mirrored to ``st.query_params`` (read once per session).

Every value read from the URL is checked against its ``UrlField``: a bad one is dropped, an out-of-range
one clamped, and either way the page says so in one line instead of failing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import streamlit as st

_LOADED = "_url_state_loaded"
MAX_VALUE_CHARS = 2000  # a link must stay loadable: longer values are not put in the URL


@dataclass(frozen=True)
class UrlField:
    """How to read one URL parameter: its type, and for numbers the range the widget accepts."""

    kind: type
    low: float | None = None
    high: float | None = None
    choices: tuple | None = None

    def parse(self, raw: str):
        """The value for session state; raises ValueError with the reason when it cannot be used."""
        if self.kind is str:
            value = raw[:MAX_VALUE_CHARS]
        else:
            number = float(raw)
            if not math.isfinite(number):
                raise ValueError(f"{raw!r} is not a finite number")
            value = self.kind(number) if self.kind is float else int(round(number))
            if self.low is not None and value < self.low:
                value = self.kind(self.low)
            if self.high is not None and value > self.high:
                value = self.kind(self.high)
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"{raw!r} is not one of {', '.join(map(str, self.choices))}")
        return value


def load_from_url(fields: dict[str, UrlField]) -> list[str]:
    """On a session's first run, copy URL parameters into session state; returns notes on what was changed."""
    if st.session_state.get(_LOADED):
        return []
    st.session_state[_LOADED] = True
    notes = []
    for key, spec in fields.items():
        if key not in st.query_params:
            continue
        raw = st.query_params[key]
        try:
            value = spec.parse(raw)
        except ValueError as exc:
            notes.append(f"Ignored the link's {key}: {exc}.")
            continue
        if spec.kind is not str and float(value) != float(raw):
            notes.append(f"The link's {key}={raw[:20]} is out of range; using {value}.")
        st.session_state[key] = value
    return notes


def save_to_url(keys) -> None:
    """Mirror the current values to the URL, dropping empty and over-long ones."""
    values = {k: str(st.session_state[k]) for k in keys if st.session_state.get(k) not in (None, "")}
    values = {k: v for k, v in values.items() if len(v) <= MAX_VALUE_CHARS}
    for k in list(st.query_params):
        if k in keys and k not in values:
            del st.query_params[k]
    st.query_params.update(values)
