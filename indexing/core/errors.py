"""The one base class of every error SimLab reports to a person, in one line that says what to do next.

Pages and the command line catch ``SimLabError`` and nothing broader: a user's mistake is never a
traceback, and a bug (a numpy error, say) is never dressed up as a friendly message.
"""
from __future__ import annotations


class SimLabError(Exception):
    """Something a user can act on; the message names the bad value and the next step."""


class InputError(SimLabError, ValueError):
    """An argument or setting outside what SimLab accepts."""


def plural(n: int, one: str, many: str | None = None) -> str:
    """'1 query', '3 queries', '2 more judgments'."""
    return f"{n} {one if n == 1 else many or one + 's'}"
