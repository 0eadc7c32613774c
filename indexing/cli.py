"""``python -m indexing``: ingest, search, stats, demo, evaluate and probe from the terminal."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from indexing.query.specs import DEFAULT_K  # light (numpy): the help text names it

if TYPE_CHECKING:
    from indexing.lab import Lab
    from indexing.query.specs import QuerySpec
    from indexing.ingest.sources import Plan

# Heavy modules (torch, chromadb, ray) are imported inside the commands that use them, so `--help` and a
# mistyped argument answer at once.

EXIT_OK, EXIT_PARTIAL, EXIT_FATAL = 0, 1, 2
METRIC_KEYS = {"nDCG@10": "ndcg@10", "P@10": "p@10", "Recall@k": "recall@100", "MRR@10": "mrr@10"}  # JSON names


def _ingest_with_progress(lab: "Lab", plan: "Plan", engine: str = "plain", ray_address: str | None = None) -> dict:
    from indexing.core.progress import terminal_progress

    with terminal_progress("ingest", "item") as progress:
        return lab.ingest(plan, progress, engine, ray_address).as_dict()


def _report(summary: dict) -> int:
    """Print the summary; exit 0 if everything is stored, 1 if some items failed, 2 if nothing could be done."""
    print(json.dumps(summary, ensure_ascii=False))
    if summary.get("stopped"):
        print(f"error: {summary['stopped']}", file=sys.stderr)
        return EXIT_PARTIAL if summary["added"] or summary["skipped"] else EXIT_FATAL
    return EXIT_PARTIAL if summary["failed"] else EXIT_OK


def cmd_ingest(args: argparse.Namespace) -> int:
    from indexing.lab import open_lab
    from indexing.ingest.sources import plan_paths

    return _report(_ingest_with_progress(open_lab(), plan_paths(args.paths), args.engine, args.ray_address))


def cmd_demo(args: argparse.Namespace) -> int:
    from indexing.shapes.demo import DEMO_PAIR_SHARE, demo_plan
    from indexing.lab import open_lab

    return _report(_ingest_with_progress(open_lab(), demo_plan(args.n, args.seed, pair_share=DEMO_PAIR_SHARE)))


def _search_spec(args: argparse.Namespace) -> "QuerySpec":
    from indexing.query.specs import NeighboursQuery, QueryError, Source, from_json

    if args.spec:
        text = args.spec
        if not text.lstrip().startswith("{"):  # a file holding the spec
            from indexing.ingest.media import read_bounded

            try:
                text = read_bounded(Path(text), 1024 * 1024, "spec file").decode("utf-8")
            except (OSError, UnicodeDecodeError):
                raise QueryError("--spec is neither JSON nor a readable UTF-8 file holding JSON.") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise QueryError(f"--spec is not JSON ({exc.msg} at character {exc.pos}).") from None
        except (ValueError, RecursionError):
            raise QueryError("--spec is not JSON a query can be read from (too deep or too large a number).") from None
        return from_json(data)
    from indexing.ingest.media import MAX_IMAGE_BYTES, read_bounded

    source = Source(text=args.text, item=args.item,  # an image's size is checked before it is read
                    image=read_bounded(Path(args.image), MAX_IMAGE_BYTES, "image") if args.image else None)
    return NeighboursQuery(source, args.k or DEFAULT_K, args.kind)


def cmd_search(args: argparse.Namespace) -> int:
    from indexing.lab import open_lab

    spec = _search_spec(args)  # a bad spec is reported before the model loads
    results = open_lab().run(spec, k=args.k)  # --k overrides a spec's own k; without it the spec's k holds
    for note in results.notes:  # what the page shows above the results (e.g. how many images have regions)
        print(f"note: {note}", file=sys.stderr)
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
    from indexing.lab import open_lab

    stats = open_lab().stats()
    if args.json:
        print(json.dumps(stats, ensure_ascii=False))
    else:
        for key, value in stats.items():
            print(f"{key:>12}: {value}")
    return EXIT_OK


def cmd_regions(args: argparse.Namespace) -> int:
    """Region vectors for every stored image that has none; prints what was done as JSON."""
    from indexing.core.progress import terminal_progress
    from indexing.lab import open_lab

    lab = open_lab()
    with terminal_progress("regions", "image") as progress:
        done = lab.compute_regions(progress)
    for item, reason in done.failed:
        print(f"{item}: {reason}", file=sys.stderr)
    ready, images = lab.regions_ready()
    print(json.dumps({"added": done.added, "failed": len(done.failed), "ready": ready, "images": images}))
    return EXIT_PARTIAL if done.failed else EXIT_OK


def cmd_evaluate(args: argparse.Namespace) -> int:
    from indexing.evaluation.evaluate import evaluate
    from indexing.lab import open_lab

    lab = open_lab()
    result = {}
    if args.genecis or args.cirr or args.fashioniq:
        from indexing.evaluation import cirr, fashioniq, genecis

        if args.genecis:
            images = Path(args.genecis_images) if args.genecis_images else None
            result.update(genecis.evaluate_genecis(lab.encoder, Path(args.genecis), images, limit=args.limit))
        if args.cirr and args.cirr_split == "test1":
            paths = cirr.submission(lab.encoder, Path(args.cirr), Path(args.out or "."), limit=args.limit)
            result["cirr_test1_submission"] = [str(p) for p in paths]
        elif args.cirr:
            result.update(cirr.evaluate_cirr(lab.encoder, Path(args.cirr), args.cirr_split, limit=args.limit))
        if args.fashioniq:
            result.update(fashioniq.evaluate_fashioniq(lab.encoder, Path(args.fashioniq), limit=args.limit))
    else:
        result = _evaluate_with_progress(lambda on_task: evaluate(
            lab.encoder, world_name=args.world, seed=args.seed, tasks=args.task, on_task=on_task), args.task)
    print(json.dumps(result, indent=None if args.json else 2))
    return EXIT_OK


def _evaluate_with_progress(run, tasks: str) -> dict:
    """Run ``run(on_task)`` with a tqdm bar of tasks on stderr and each task's time written under it."""
    from tqdm import tqdm

    from indexing.evaluation.evaluate import parse_tasks

    with tqdm(total=len(parse_tasks(tasks)), unit="task", desc="evaluate", file=sys.stderr) as bar:
        def on_task(name: str, seconds: float | None) -> None:
            if seconds is None:
                bar.set_description(f"evaluate: {name}")
            else:
                bar.write(f"{name}: {seconds:.0f} s", file=sys.stderr)
                bar.update(1)

        return run(on_task)


def cmd_probe(args: argparse.Namespace) -> int:
    from indexing.evaluation.probes import MIN_CAPTION_WORDS, ORDER_VARIANTS, collection_order, world_probes
    from indexing.lab import open_lab
    from indexing.query.specs import QueryError
    from indexing.shapes.world import evaluation_seed

    evaluation_seed(args.seed)  # refused before the model loads
    if args.n < 1:
        raise QueryError(f"--n must be at least 1 (scenes per probe), not {args.n}.")
    lab = open_lab()
    result = world_probes(lab.encoder, args.seed, args.n)
    if args.field:
        records, vectors = lab.vectors()
        result["order_collection"] = collection_order(lab.encoder, records, vectors, args.field)
        if not result["order_collection"][ORDER_VARIANTS[0]]["n"]:
            print(f"note: no image item has a caption of {MIN_CAPTION_WORDS} or more words in metadata field "
                  f"{args.field!r}", file=sys.stderr)
    print(json.dumps(result, indent=None if args.json else 2))
    return EXIT_OK


def cmd_labels(args: argparse.Namespace) -> int:
    from indexing.lab import open_lab
    from indexing.labels.label_store import LabelStore, checked_annotator
    from indexing.core.progress import terminal_progress
    from indexing.core.settings import load_settings
    from indexing.labels.metrics import evaluate_run
    from indexing.labels.judging import all_runs
    from indexing.labels.trec import import_qrels, judgments_csv, judgments_jsonl, qrels_text, read_qrels, run_text

    settings = load_settings()
    labels = LabelStore(settings.data_dir)
    if args.labels_command == "save":
        return _save_query(args, labels)
    if args.labels_command == "import":
        annotator = checked_annotator(args.annotator)  # refused before the model loads
        lab = open_lab(settings)
        known = {r.id for r in lab.store.all()[0]}
        with terminal_progress("import", "judgment") as progress:
            report = import_qrels(Path(args.file).read_bytes(), labels, known, annotator, progress)
        for line, reason in report.errors:
            print(f"{args.file}:{line}: {reason}", file=sys.stderr)
        print(json.dumps(report.as_dict()))
        if report.stopped:
            print(f"error: {report.stopped}", file=sys.stderr)
            return EXIT_PARTIAL if report.imported else EXIT_FATAL
        return EXIT_PARTIAL if report.errors else EXIT_OK
    if args.labels_command == "metrics" and args.runs:
        return _external_metrics(args, labels)
    if args.labels_command == "export" and args.format in ("qrels", "jsonl", "csv"):
        text = {"qrels": lambda: qrels_text(labels.qrels()), "jsonl": lambda: judgments_jsonl(labels.judgments()),
                "csv": lambda: judgments_csv(labels.judgments())}[args.format]()
    else:
        lab = open_lab(settings)
        qrels = labels.qrels()
        runs, skipped = all_runs(labels.queries(), qrels, lab.saved_results)
        for note in skipped:
            print(f"skipped {note}", file=sys.stderr)
        if args.labels_command == "metrics" and args.qrels:
            qrels = _read_trec_file(args.qrels, read_qrels)
        if args.labels_command == "export":
            text = "".join(run_text(run, method) for method, run in sorted(runs.items()))
        else:
            result = {}
            for name, run in sorted(runs.items()):  # family/method: one algorithm per row
                m = evaluate_run(name, run, qrels)
                result[name] = {**{METRIC_KEYS[k]: round(v, 4) for k, v in m.mean.items()},
                                "queries": len(m.per_query),
                                "unjudged_top10": sum(n for q, n in m.unjudged_top10.items() if q in m.per_query)}
            print(json.dumps(result) if args.json else json.dumps(result, indent=2))
            return EXIT_OK
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _save_query(args: argparse.Namespace, labels) -> int:
    """Save a spec (as ``search --spec`` takes it) for labelling; print its qid, so a script can pool queries
    and import qrels for them."""
    from indexing.lab import open_lab

    spec = _search_spec(args)  # a bad spec is refused before the model loads
    lab = open_lab()
    lab.run(spec)  # it must run here (its item, its saved image) before it is kept
    name = args.name or spec.label[:80]
    saved = labels.save_query(name, spec)
    print(json.dumps({"qid": saved.qid, "name": saved.name, "family": saved.family}) if args.json else saved.qid)
    return EXIT_OK


def _read_trec_file(path: str, reader):
    from indexing.ingest.texts import decode_text

    return reader(decode_text(Path(path).read_bytes()), path)


def _external_metrics(args: argparse.Namespace, labels) -> int:
    """trec_eval's measures for each --run file against --qrels (default: this data directory's judgments)."""
    from indexing.labels.metrics import TREC_MEASURES, trec_measures
    from indexing.labels.trec import read_qrels, read_runs

    qrels = _read_trec_file(args.qrels, read_qrels) if args.qrels else labels.qrels()
    result: dict[str, dict[str, float]] = {}
    for path in args.runs:
        for tag, run in _read_trec_file(path, read_runs).items():
            result[f"{path}:{tag}" if tag in result else tag] = trec_measures(run, qrels)
    if args.json:
        print(json.dumps(result))
        return EXIT_OK
    names = list(result)
    print(f"{'measure':<14}" + "".join(f"{n[:18]:>20}" for n in names))
    for m in TREC_MEASURES:
        cells = [f"{result[n][m]:>20d}" if m.startswith("num_") else f"{result[n][m]:>20.4f}" for n in names]
        print(f"{m:<14}" + "".join(cells))
    return EXIT_OK


def _positive(text: str) -> int:
    """A whole number ≥ 1 (argparse's type for counts such as --limit)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m indexing", description="SimLab's engine from the terminal. "
                                "Settings come from SIMLAB_DATA, SIMLAB_MODEL, SIMLAB_PRETRAINED, CHROMA_HOST.")
    sub = p.add_subparsers(dest="command", required=True)

    ing = sub.add_parser("ingest", help="add files, folders (recursive), zips, txt/csv/jsonl")
    ing.add_argument("paths", nargs="+")
    ing.add_argument("--engine", choices=("plain", "ray"), default="plain",
                     help="plain: this process; ray: a Ray cluster (decode tasks, an encoding actor pool)")
    ing.add_argument("--ray-address", help="the cluster to use with --engine ray (HOST:6379); default: a local one")
    ing.set_defaults(run=cmd_ingest)

    demo = sub.add_parser("demo", help="render and ingest the shapes demo world")
    demo.add_argument("--n", type=_positive, default=500, help="number of images (plus captions for about a quarter)")
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(run=cmd_demo)

    s = sub.add_parser("search", help="nearest items to a text, an image or an item; or any query spec")
    group = s.add_mutually_exclusive_group(required=True)
    group.add_argument("--text")
    group.add_argument("--image", help="path to an image file")
    group.add_argument("--item", help="id of an item in the index")
    group.add_argument("--spec", help='a saved-query spec as JSON (or a file holding it), e.g. \'{"type": "compose", "reference": ID, '
                       '"text": "make it blue"}\': every method\'s top k')
    s.add_argument("--k", type=int, help=f"how many results (default: the spec's k, or {DEFAULT_K})")
    s.add_argument("--kind", choices=["image", "text"])
    s.add_argument("--json", action="store_true")
    s.set_defaults(run=cmd_search)

    st = sub.add_parser("stats", help="what is indexed")
    st.add_argument("--json", action="store_true")
    st.set_defaults(run=cmd_stats)

    rg = sub.add_parser("regions", help="compute region vectors (region search) for stored images that have none")
    rg.set_defaults(run=cmd_regions)

    ev = sub.add_parser("evaluate", help="retrieval metrics on a fresh demo world with known ground truth")
    ev.add_argument("--world", default="shapes", choices=["shapes", "demo"], help="shapes: the test world of "
                    "every task; demo: the world the Ingest page loads (shapes, two-object scenes, captions), for "
                    "--task cluster_names")
    ev.add_argument("--seed", type=int, default=2_000_001, help="a seed outside the training range")
    ev.add_argument("--task", default="all", help="NAME[,NAME] or all: t2i, i2t, t2i_partial, cir, "
                    "focus_attribute, change_attribute, relevance_filter, adapter, pointing, region, cluster_names")
    ev.add_argument("--genecis", metavar="DIR", help="GeneCIS from its published DIR/<task>.json files (images: "
                    "IMAGES/val2017/<12-digit id>.jpg, IMAGES/VG_100K[_2]/<id>.jpg)")
    ev.add_argument("--genecis-images", metavar="IMAGES", help="where the COCO and Visual Genome images are "
                    "(default: the --genecis DIR)")
    ev.add_argument("--cirr", metavar="DIR", help="CIRR from DIR/cirr/captions, DIR/cirr/image_splits and the "
                    "images at the paths they list under DIR")
    ev.add_argument("--cirr-split", choices=["val", "test1"], default="val", help="test1: write the evaluation "
                    "server's submission files to --out instead of scoring")
    ev.add_argument("--out", metavar="DIR", help="where the CIRR test1 submission files go (default: .)")
    ev.add_argument("--fashioniq", metavar="DIR", help="FashionIQ val from DIR/captions, DIR/image_splits and "
                    "DIR/images/<asin>.png")
    ev.add_argument("--limit", type=_positive, help="at most this many queries per task (quick; CIRR and FashionIQ "
                    "then rank only the images those queries name)")
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(run=cmd_evaluate)
    pr = sub.add_parser("probe", help="model check: attribute binding, relations, word order and zero-shot "
                        "attributes, each next to its chance rate (ARO)")
    pr.add_argument("--seed", type=int, default=2_000_001, help="scenes from this seed (outside the training range)")
    pr.add_argument("--n", type=int, default=200, help="scenes per probe")
    pr.add_argument("--field", help="also probe word order on this collection's image items, captions from this "
                    "metadata field")
    pr.add_argument("--json", action="store_true")
    pr.set_defaults(run=cmd_probe)
    lb = sub.add_parser("labels", help="relevance judgments: save queries, import qrels, export, metrics")
    lsub = lb.add_subparsers(dest="labels_command", required=True)
    save = lsub.add_parser("save", help="save a query for labelling (any spec search --spec takes); prints its "
                           "qid, for qrels you import later")
    save.add_argument("--spec", required=True, help="the query spec as JSON, e.g. '{\"type\": \"text\", "
                      "\"text\": \"a red circle\"}'")
    save.add_argument("--name", help="its name on the Label page (default: its text)")
    save.add_argument("--json", action="store_true", help="print {qid, name, family} instead of the qid alone")
    save.set_defaults(run=cmd_labels, k=None)
    imp = lsub.add_parser("import", help="import TREC qrels (qid 0 docid rel)")
    imp.add_argument("file")
    imp.add_argument("--annotator", default="import")
    imp.set_defaults(run=cmd_labels)
    exp = lsub.add_parser("export", help="qrels, run files (every method), jsonl or csv of judgments")
    exp.add_argument("--format", choices=["qrels", "run", "jsonl", "csv"], default="qrels")
    exp.add_argument("--out")
    exp.set_defaults(run=cmd_labels)
    met = lsub.add_parser("metrics", help="nDCG@10, P@10, Recall@100, MRR@10 per method; or trec_eval's "
                          "measures of any TREC run files (--run, several side by side)")
    met.add_argument("--qrels", metavar="FILE", help="judge against this TREC qrels file instead of the "
                     "judgments in the data directory")
    met.add_argument("--run", metavar="FILE", action="append", dest="runs", help="a TREC run file (qid Q0 docno "
                     "rank score tag); repeat for several: map, P_10, recip_rank, ndcg, ndcg_cut_10 … as trec_eval "
                     "computes them (ties by docno descending, the rank column ignored)")
    met.add_argument("--json", action="store_true")
    met.set_defaults(run=cmd_labels)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # --help and argument errors end here, before any heavy import
    from indexing.model.zoo import ModelUnavailable
    from indexing.query.specs import QueryError
    from indexing.ingest.ray_pipeline import RayUnavailable
    from indexing.core.settings import load_settings
    from indexing.store.chroma import DimensionMismatch, StoreUnavailable, store_failure
    from indexing.store.write_lock import StoreBusy

    try:
        load_settings()
        return args.run(args)
    except (ModelUnavailable, StoreUnavailable, DimensionMismatch, StoreBusy, RayUnavailable) as exc:  # BenchmarkDataError is a ValueError
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
