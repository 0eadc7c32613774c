"""Label store at scale: bulk qrels import, and what one judgment costs with many judgments stored.

    python -m benchmarks.labels --judgments 100000 --queries 500 [--json]

import_s: importing that many qrels lines (batched transactions). page_open_s: one full run of the Label page
(AppTest, tiny model, 200 items) with them stored. click_ms: the judging card's own work per judgment (the
card is a fragment: it writes the grade and reads this query's judgments through their index), with the
store holding them all, and the same with an empty store (click_ms_empty) for comparison.
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from benchmarks.report import parser, print_figures

REPO = Path(__file__).resolve().parent.parent


def click_ms(labels, qid: str, annotator: str, rounds: int = 50) -> float:
    start = time.perf_counter()
    for i in range(rounds):
        labels.judge(qid, f"click-{i}", annotator, i % 4)
        {j.item_id for j in labels.judgments(qid) if j.annotator == annotator}
    return (time.perf_counter() - start) / rounds * 1000


def measure(judgments: int, queries: int) -> dict:
    from streamlit.testing.v1 import AppTest

    from indexing.shapes.demo import demo_plan
    from indexing.labels.label_store import LabelStore
    from indexing.lab import open_lab
    from indexing.query.specs import NeighboursQuery, Source
    from indexing.core.settings import load_settings
    from indexing.labels.trec import import_qrels

    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(SIMLAB_DATA=f"{tmp}/data", SIMLAB_MODEL=str(REPO / "tests/fixtures/tiny-clip.json"),
                          SIMLAB_PRETRAINED="none", HF_HUB_OFFLINE="1")
        lab = open_lab(load_settings())
        lab.ingest(demo_plan(150))
        labels = LabelStore(lab.settings.data_dir)
        empty = click_ms(labels, "q-empty", "bench")
        labels.save_query("red", NeighboursQuery(Source(text="a red circle")), qid="q-0")
        lines = "".join(f"q-{i % queries} 0 item-{i} {i % 4}\n" for i in range(judgments)).encode()
        start = time.perf_counter()
        report = import_qrels(lines, labels, None)
        import_s = time.perf_counter() - start
        full = click_ms(labels, "q-0", "bench")
        at = AppTest.from_file(str(REPO / "pages" / "6_Label.py"), default_timeout=600)
        start = time.perf_counter()
        at.run()
        page_open_s = time.perf_counter() - start
    return {"judgments": report.imported, "queries": queries, "import_s": round(import_s, 2),
            "page_open_s": round(page_open_s, 2), "click_ms": round(full, 2), "click_ms_empty": round(empty, 2),
            "page_errors": len(at.exception)}


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--judgments", type=int, default=100_000)
    p.add_argument("--queries", type=int, default=500)
    args = p.parse_args()
    print_figures(measure(args.judgments, args.queries), args.json)


if __name__ == "__main__":
    main()
