"""TREC qrels and run files, JSONL and CSV exports of judgments, and a forgiving qrels import."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field

from indexing.labels.label_store import Judgment, LabelError, LabelStore
from indexing.labels.metrics import Qrels, Run, trec_order
from indexing.core.progress import Progress
from indexing.ingest.texts import decode_text

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def qrels_text(qrels: Qrels) -> str:
    """``qid 0 docid rel`` lines, sorted."""
    return "".join(f"{q} 0 {d} {r}\n" for q in sorted(qrels) for d, r in sorted(qrels[q].items()))


def run_text(run: Run, tag: str) -> str:
    """``qid Q0 docid rank score tag`` lines in trec_eval's own order, scores written in full (a rounded
    score could tie two documents that SimLab ranked apart, and trec_eval would reorder them by id)."""
    tag = "_".join(tag.split()) or "run"  # one field: a tag with spaces would make the line unreadable
    lines = []
    for q in sorted(run):
        lines += [f"{q} Q0 {d} {i} {s!r} {tag}\n" for i, (d, s) in enumerate(trec_order(run[q]), start=1)]
    return "".join(lines)


class TrecFileError(LabelError):
    """A qrels or run file trec_eval would not read; the message names the line."""


def _lines(text: str, name: str, fields: int, form: str):
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):  # trec_eval skips comment lines too
            continue
        parts = line.split()
        if len(parts) != fields:
            raise TrecFileError(f"{name}:{number}: expected '{form}', got {len(parts)} fields.")
        yield number, parts


def read_qrels(text: str, name: str = "qrels") -> Qrels:
    """A TREC qrels file (``qid iter docno rel``, any whole-number grade, negative ones included)."""
    qrels: Qrels = {}
    for number, (qid, _, docno, rel) in _lines(text, name, 4, "qid iter docno rel"):
        try:
            qrels.setdefault(qid, {})[docno] = parse_grade(rel)
        except ValueError:
            raise TrecFileError(f"{name}:{number}: relevance {rel!r} is not a whole number.") from None
    return qrels


def read_runs(text: str, name: str = "run") -> dict[str, Run]:
    """The runs of a TREC run file (``qid Q0 docno rank score tag``), by tag: one file may hold several, as
    SimLab's export does. The rank column is ignored, as trec_eval ignores it; a document listed twice for
    one query of one run is an error, as in trec_eval."""
    runs: dict[str, Run] = {}
    for number, (qid, _, docno, _, score, tag) in _lines(text, name, 6, "qid Q0 docno rank score tag"):
        try:
            value = float(score)
        except ValueError:
            raise TrecFileError(f"{name}:{number}: score {score!r} is not a number.") from None
        run = runs.setdefault(tag, {}).setdefault(qid, {})
        if docno in run:
            raise TrecFileError(f"{name}:{number}: {docno} is listed twice for query {qid} in run {tag}.")
        run[docno] = value
    return runs


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


MAX_LISTED = 1000  # new queries and bad lines named in a report; the counts are whole


@dataclass
class ImportReport:
    imported: int = 0
    new_queries: list[str] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)
    stopped: str = ""  # why the import stopped before the end (what was imported stays)

    def as_dict(self) -> dict:
        return {"imported": self.imported, "new_queries": self.new_queries[:MAX_LISTED],
                "new_query_count": len(self.new_queries),
                "errors": [{"line": n, "reason": r} for n, r in self.errors[:MAX_LISTED]],
                "error_count": len(self.errors),
                **({"stopped": self.stopped} if self.stopped else {})}


MAX_GRADE_DIGITS = 9


def parse_grade(text: str) -> int:
    """A whole number written in ASCII digits (``int`` would also take '３' and other scripts' digits)."""
    digits = text[1:] if text[:1] in "+-" else text
    if not (digits.isascii() and digits.isdigit()) or len(digits.lstrip("0")) > MAX_GRADE_DIGITS:
        raise ValueError(text)  # past 9 digits trec_eval's C integers overflow (10^23 raised SystemError)
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
            report.errors.append((number, f"relevance {rel_text[:20]!r} is not a whole number of at most "
                                          f"{MAX_GRADE_DIGITS} digits"))
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
            try:
                labels.ensure_queries(report.new_queries)
            except LabelError:
                report.new_queries = []  # none was added: the report must not list them as new
                raise
        report.imported = labels.judge_many(rows, progress=progress)
    except LabelError as exc:  # what was committed before (PartialWrite.done) stays
        report.stopped, report.imported = str(exc), getattr(exc, "done", 0)
    return report
