"""``python -m indexing``: ingest, search, stats, demo and evaluate from the terminal."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from indexing.lab import Lab, open_lab
from indexing.models import ModelUnavailable
from indexing.progress import terminal_progress
from indexing.query_specs import DEFAULT_K, NeighboursQuery, QueryError, QuerySpec, Source, from_json
from indexing.settings import load_settings
from indexing.sources import Plan, plan_paths
from indexing.store import DimensionMismatch, StoreUnavailable, store_failure
from indexing.writelock import StoreBusy

EXIT_OK, EXIT_PARTIAL, EXIT_FATAL = 0, 1, 2


def _ingest_with_progress(lab: Lab, plan: Plan) -> dict:
    with terminal_progress("ingest", "item") as progress:
        return lab.ingest(plan, progress).as_dict()


def _report(summary: dict) -> int:
    """Print the summary; exit 0 if everything is stored, 1 if some items failed, 2 if nothing could be done."""
    print(json.dumps(summary, ensure_ascii=False))
    if summary.get("stopped"):
        print(f"error: {summary['stopped']}", file=sys.stderr)
        return EXIT_PARTIAL if summary["added"] or summary["skipped"] else EXIT_FATAL
    return EXIT_PARTIAL if summary["failed"] else EXIT_OK


def cmd_ingest(args: argparse.Namespace) -> int:
    return _report(_ingest_with_progress(open_lab(), plan_paths(args.paths)))


def cmd_demo(args: argparse.Namespace) -> int:
    from indexing.demo import demo_plan

    return _report(_ingest_with_progress(open_lab(), demo_plan(args.n, args.seed)))


def _search_spec(args: argparse.Namespace) -> QuerySpec:
    if args.spec:
        try:
            data = json.loads(args.spec)
        except json.JSONDecodeError as exc:
            raise QueryError(f"--spec is not JSON ({exc.msg} at character {exc.pos}).") from None
        return from_json(data)
    source = Source(text=args.text, item=args.item,
                    image=Path(args.image).read_bytes() if args.image else None)
    return NeighboursQuery(source, args.k, args.kind)


def cmd_search(args: argparse.Namespace) -> int:
    results = open_lab().run(_search_spec(args), k=args.k if args.spec else None)
    if args.json:
        print(json.dumps({m: [h.as_dict() for h in results.hits(m)] for m in results.methods}
                         if args.spec else [h.as_dict() for h in results.hits()], ensure_ascii=False))
        return EXIT_OK
    for method in results.methods:
        if len(results.methods) > 1:
            print(f"# {method}")
        for rank, h in enumerate(results.hits(method), 1):
            print(f"{rank:3d}  {h.score:.3f}  {h.kind:5s}  {h.id}  {h.text if h.kind == 'text' else h.name}")
    return EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    stats = open_lab().stats()
    if args.json:
        print(json.dumps(stats, ensure_ascii=False))
    else:
        for key, value in stats.items():
            print(f"{key:>12}: {value}")
    return EXIT_OK


def cmd_evaluate(args: argparse.Namespace) -> int:
    from indexing.evaluate import evaluate

    lab = open_lab()
    result = {}
    if args.genecis or args.cirr:
        from indexing.benchmark_readers import evaluate_cirr, evaluate_genecis

        if args.genecis:
            result.update(evaluate_genecis(lab.encoder, Path(args.genecis), limit=args.limit))
        if args.cirr:
            result.update(evaluate_cirr(lab.encoder, Path(args.cirr), limit=args.limit))
    else:
        result = evaluate(lab.encoder, world_name=args.world, seed=args.seed, tasks=args.task)
    print(json.dumps(result, indent=None if args.json else 2))
    return EXIT_OK


def cmd_labels(args: argparse.Namespace) -> int:
    from indexing.labels import LabelStore
    from indexing.metrics import evaluate_run
    from indexing.judging import RUN_DEPTH, all_runs
    from indexing.trec import import_qrels, judgments_csv, judgments_jsonl, qrels_text, run_text

    settings = load_settings()
    labels = LabelStore(settings.data_dir)
    if args.labels_command == "import":
        lab = open_lab(settings)
        known = {r.id for r in lab.store.all()[0]}
        with terminal_progress("import", "judgment") as progress:
            report = import_qrels(Path(args.file).read_bytes(), labels, known, args.annotator, progress)
        for line, reason in report.errors:
            print(f"{args.file}:{line}: {reason}", file=sys.stderr)
        print(json.dumps(report.as_dict()))
        if report.stopped:
            print(f"error: {report.stopped}", file=sys.stderr)
            return EXIT_PARTIAL if report.imported else EXIT_FATAL
        return EXIT_PARTIAL if report.errors else EXIT_OK
    if args.labels_command == "export" and args.format in ("qrels", "jsonl", "csv"):
        text = {"qrels": lambda: qrels_text(labels.qrels()), "jsonl": lambda: judgments_jsonl(labels.judgments()),
                "csv": lambda: judgments_csv(labels.judgments())}[args.format]()
    else:
        lab = open_lab(settings)
        qrels = labels.qrels()
        runs, skipped = all_runs(labels.queries(), lambda q: lab.run(
            q.runnable, k=RUN_DEPTH, grades=qrels.get(q.qid)).rankings())
        for note in skipped:
            print(f"skipped {note}", file=sys.stderr)
        if args.labels_command == "export":
            text = "".join(run_text(run, method) for method, run in sorted(runs.items()))
        else:
            result = {}
            for method, run in sorted(runs.items()):
                m = evaluate_run(method, run, qrels)
                result[method] = {**{k: round(v, 4) for k, v in m.mean.items()},
                                  "queries": len(m.per_query),
                                  "unjudged_top10": sum(n for q, n in m.unjudged_top10.items() if q in m.per_query)}
            print(json.dumps(result) if args.json else json.dumps(result, indent=2))
            return EXIT_OK
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m indexing", description="SimLab's engine from the terminal. "
                                "Settings come from SIMLAB_DATA, SIMLAB_MODEL, SIMLAB_PRETRAINED, CHROMA_HOST.")
    sub = p.add_subparsers(dest="command", required=True)

    ing = sub.add_parser("ingest", help="add files, folders (recursive), zips, txt/csv/jsonl")
    ing.add_argument("paths", nargs="+")
    ing.set_defaults(run=cmd_ingest)

    demo = sub.add_parser("demo", help="render and ingest the shapes demo world")
    demo.add_argument("--n", type=int, default=500, help="number of images (plus captions for about a quarter)")
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(run=cmd_demo)

    s = sub.add_parser("search", help="nearest items to a text, an image or an item; or any query spec")
    group = s.add_mutually_exclusive_group(required=True)
    group.add_argument("--text")
    group.add_argument("--image", help="path to an image file")
    group.add_argument("--item", help="id of an item in the index")
    group.add_argument("--spec", help='a saved-query spec as JSON, e.g. \'{"type": "compose", "reference": ID, '
                       '"text": "make it blue"}\': every method\'s top k')
    s.add_argument("--k", type=int, default=DEFAULT_K)
    s.add_argument("--kind", choices=["image", "text"])
    s.add_argument("--json", action="store_true")
    s.set_defaults(run=cmd_search)

    st = sub.add_parser("stats", help="what is indexed")
    st.add_argument("--json", action="store_true")
    st.set_defaults(run=cmd_stats)

    ev = sub.add_parser("evaluate", help="retrieval metrics on a fresh demo world with known ground truth")
    ev.add_argument("--world", default="shapes", choices=["shapes"])
    ev.add_argument("--seed", type=int, default=2_000_001, help="a seed outside the training range")
    ev.add_argument("--task", default="all", help="NAME[,NAME] or all: t2i, i2t, t2i_partial, cir, "
                    "focus_attribute, change_attribute")
    ev.add_argument("--genecis", metavar="DIR", help="run GeneCIS from DIR/<task>.json + DIR/images/<id>.jpg "
                    "instead of the shapes world")
    ev.add_argument("--cirr", metavar="DIR", help="run CIRR val from DIR/cirr/captions, DIR/cirr/image_splits "
                    "and the images they list")
    ev.add_argument("--limit", type=int, help="at most this many queries per benchmark task")
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(run=cmd_evaluate)
    lb = sub.add_parser("labels", help="relevance judgments: import qrels, export, metrics")
    lsub = lb.add_subparsers(dest="labels_command", required=True)
    imp = lsub.add_parser("import", help="import TREC qrels (qid 0 docid rel)")
    imp.add_argument("file")
    imp.add_argument("--annotator", default="import")
    imp.set_defaults(run=cmd_labels)
    exp = lsub.add_parser("export", help="qrels, run files (every method), jsonl or csv of judgments")
    exp.add_argument("--format", choices=["qrels", "run", "jsonl", "csv"], default="qrels")
    exp.add_argument("--out")
    exp.set_defaults(run=cmd_labels)
    met = lsub.add_parser("metrics", help="nDCG@10, P@10, Recall@100, MRR@10 per method")
    met.add_argument("--json", action="store_true")
    met.set_defaults(run=cmd_labels)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        load_settings()
        return args.run(args)
    except (ModelUnavailable, StoreUnavailable, DimensionMismatch, StoreBusy) as exc:  # BenchmarkDataError is a ValueError
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FATAL
    except (QueryError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FATAL
    except Exception as exc:  # anything unforeseen is fatal, but still one line (traceback on request)
        if os.environ.get("SIMLAB_DEBUG"):
            raise
        if type(exc).__module__.split(".")[0] in ("chromadb", "httpx", "sqlite3"):  # the store, on a bad day
            print(f"error: {store_failure(exc)}.", file=sys.stderr)
            return EXIT_FATAL
        print(f"error: unexpected {type(exc).__name__}: {exc} (set SIMLAB_DEBUG=1 for the traceback)",
              file=sys.stderr)
        return EXIT_FATAL
