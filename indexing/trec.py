"""TREC qrels and run files, JSONL and CSV exports of judgments, and a forgiving qrels import."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field

from indexing.labels import Judgment, LabelError, LabelStore
from indexing.metrics import Qrels, Run
from indexing.progress import Progress
from indexing.texts import decode_text

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def qrels_text(qrels: Qrels) -> str:
    """``qid 0 docid rel`` lines, sorted."""
    return "".join(f"{q} 0 {d} {r}\n" for q in sorted(qrels) for d, r in sorted(qrels[q].items()))


def run_text(run: Run, tag: str) -> str:
    """``qid Q0 docid rank score tag`` lines, best first per query."""
    lines = []
    for q in sorted(run):
        ranked = sorted(run[q].items(), key=lambda kv: (-kv[1], kv[0]))
        lines += [f"{q} Q0 {d} {i} {s:.6f} {tag}\n" for i, (d, s) in enumerate(ranked, start=1)]
    return "".join(lines)


def judgments_jsonl(judgments: list[Judgment]) -> str:
    return "".join(json.dumps({"qid": j.qid, "item_id": j.item_id, "annotator": j.annotator, "rel": j.rel,
                               "updated": j.updated}, ensure_ascii=False) + "\n" for j in judgments)


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def judgments_csv(judgments: list[Judgment]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["qid", "item_id", "annotator", "rel", "updated"])
    for j in judgments:
        writer.writerow([safe_cell(v) for v in (j.qid, j.item_id, j.annotator, j.rel, j.updated)])
    return out.getvalue()


@dataclass
class ImportReport:
    imported: int = 0
    new_queries: list[str] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)
    stopped: str = ""  # why the import stopped before the end (what was imported stays)

    def as_dict(self) -> dict:
        return {"imported": self.imported, "new_queries": self.new_queries,
                "errors": [{"line": n, "reason": r} for n, r in self.errors],
                **({"stopped": self.stopped} if self.stopped else {})}


def parse_grade(text: str) -> int:
    """A whole number written in ASCII digits (``int`` would also take '３' and other scripts' digits)."""
    digits = text[1:] if text[:1] in "+-" else text
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError(text)
    return int(text)


def import_qrels(data: bytes, labels: LabelStore, known_items: set[str] | None, annotator: str = "import",
                 progress: Progress | None = None) -> ImportReport:
    """Import ``qid 0 docid rel`` lines; each bad line is reported by number, good lines are kept.

    Lines are checked first, then written in batched transactions (100k lines in seconds, not minutes)."""
    report = ImportReport()
    known_queries = {q.qid for q in labels.queries()}
    rows: list[tuple[str, str, str, int]] = []
    for number, line in enumerate(decode_text(data).splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 4:
            report.errors.append((number, f"expected 'qid 0 docid rel', got {len(parts)} fields"))
            continue
        qid, _, docid, rel_text = parts
        try:
            rel = parse_grade(rel_text)
        except ValueError:
            report.errors.append((number, f"relevance {rel_text!r} is not a whole number"))
            continue
        if rel not in labels.scale:
            report.errors.append((number, f"relevance {rel} is outside the scale {min(labels.scale)}–{max(labels.scale)}"))
            continue
        if known_items is not None and docid not in known_items:
            report.errors.append((number, f"unknown item id {docid!r}"))
            continue
        if qid not in known_queries:
            known_queries.add(qid)
            report.new_queries.append(qid)
        rows.append((qid, docid, annotator, rel))
    try:
        if report.new_queries:
            labels.ensure_queries(report.new_queries)
        report.imported = labels.judge_many(rows, progress=progress)
    except LabelError as exc:  # what was committed before (PartialWrite.done) stays
        report.stopped, report.imported = str(exc), getattr(exc, "done", 0)
    return report
