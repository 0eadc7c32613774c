"""Concurrent sessions searching and labelling at once: errors, lost judgments, interaction times.

    python -m benchmarks.load [--sessions 20] [--rounds 5] [--json]

Each session is a Streamlit AppTest of the real pages in its own thread: it searches on the
Neighbours page, then judges on the Label page under its own annotator name. Uses the bundled model
and a demo world in a temporary data directory.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def session(i: int, rounds: int, timings: list[float], errors: list[str]) -> None:
    from streamlit.testing.v1 import AppTest

    try:
        search = AppTest.from_file(str(REPO / "pages" / "2_Neighbours.py"), default_timeout=300).run()
        label = AppTest.from_file(str(REPO / "pages" / "6_Label.py"), default_timeout=300).run()
        label.text_input(key="label-annotator").input(f"annotator-{i}").run()
        for r in range(rounds):
            start = time.perf_counter()
            search.text_input(key="query_text").input(f"a red circle {r}").run()
            timings.append(time.perf_counter() - start)
            start = time.perf_counter()
            label.button(key=f"grade-{(i + r) % 4}").click().run()
            timings.append(time.perf_counter() - start)
            for at in (search, label):
                if at.exception:
                    errors.append(f"session {i}: {at.exception[0].value}")
    except Exception as exc:  # a benchmark reports failures; it does not stop at the first
        errors.append(f"session {i}: {type(exc).__name__}: {exc}")


def measure(sessions: int, rounds: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(SIMLAB_DATA=tmp, SIMLAB_MODEL="simlab-shapes", HF_HUB_OFFLINE="1")
        from indexing.demo import demo_plan
        from indexing.lab import open_lab
        from indexing.labels import LabelStore

        lab = open_lab()
        lab.ingest(demo_plan(200))
        labels = LabelStore(Path(tmp))
        labels.save_query("load", {"type": "text", "text": "a red circle", "kind": "image"}, qid="q-load")
        timings: list[float] = []
        errors: list[str] = []
        threads = [threading.Thread(target=session, args=(i, rounds, timings, errors)) for i in range(sessions)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - start
        judged = labels.judgments("q-load")
        expected = sessions * rounds
        return {"sessions": sessions, "rounds": rounds, "interactions": len(timings), "errors": len(errors),
                "error_examples": errors[:3], "judgments_expected": expected, "judgments_stored": len(judged),
                "p50_ms": round(float(np.percentile(timings, 50)) * 1000, 1) if timings else None,
                "p95_ms": round(float(np.percentile(timings, 95)) * 1000, 1) if timings else None,
                "wall_s": round(wall, 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sessions", type=int, default=20)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    result = measure(args.sessions, args.rounds)
    print(json.dumps(result) if args.json else "\n".join(f"{k:>20}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
