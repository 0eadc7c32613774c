"""What every benchmark's command line shares: its docstring as help, ``--json``, and how figures are printed."""
from __future__ import annotations

import argparse
import json


def parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser with the module docstring as help and a ``--json`` switch."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of aligned lines")
    return p


def print_figures(result: dict, as_json: bool) -> None:
    """One JSON object, or one ``name: value`` line per figure."""
    width = max(map(len, result), default=0)
    print(json.dumps(result) if as_json else "\n".join(f"{k:>{width}}: {v}" for k, v in result.items()))
