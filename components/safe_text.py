"""User text inside Streamlit's Markdown-rendering elements (st.error, st.caption, progress text) stays text."""
from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$])")


def md_escape(text: str) -> str:
    """``text`` with every Markdown (and HTML) special character backslash-escaped."""
    return _SPECIAL.sub(r"\\\1", str(text))
