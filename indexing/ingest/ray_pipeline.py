"""The ingest plan run on a Ray cluster (``python -m indexing ingest PATH... --engine ray``).

Ray Data streams the plan through three stages so CPU decoding overlaps inference:

1. **decode** (CPU tasks): read each file, hash it (the content id), drop what the store already holds, decode and
   check it with the plain engine's rules (``ingest.read_item`` / ``ingest.keep_image``), keep its original and
   thumbnail under ``SIMLAB_DATA`` (a folder every node sees), and preprocess it for the model;
2. **encode** (an actor pool: the model stays loaded; one GPU per actor where the cluster has GPUs);
3. **write** (this process): de-duplicate by content id and upsert into Chroma in batches.

Ids are content hashes and writes are upserts, so a rerun adds nothing and a retried task (a worker that died)
duplicates nothing. Bad files come back as rows with a reason and are reported per file; they never fail the job.
The summary is the plain engine's.
"""
from __future__ import annotations

import json
import os
import socket
import sys
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np

from indexing.store.blobs import Blobs
from indexing.model.encoder import Encoder
from indexing.core.errors import SimLabError
from indexing.ingest.pipeline import Summary, keep_image, read_item, store_batch
from indexing.ingest.media import MediaError
from indexing.model.zoo import ModelSpec
from indexing.core.progress import Progress
from indexing.ingest.sources import Failure, Plan
from indexing.store.chroma import Record, Store, StoreStopped

REPO = Path(__file__).resolve().parents[2]
BLOCK = 64  # plan items per decode task
COLUMNS = ("item", "id", "kind", "name", "text", "metadata", "source", "error", "pixels")


CONNECT_S = 60  # at most this long to start or reach a cluster (Ray itself retries for minutes)
PROBE_S = 5  # and this long for the address to accept a connection at all


class RayUnavailable(SimLabError, RuntimeError):
    """Ray is not installed, the cluster cannot be reached, or the job cannot be shipped; the message says what
    to do."""


class _Fails:
    """A loader that raises the reason its item could not be read when the plan was shipped (picklable)."""

    def __init__(self, reason: str):
        self.reason = reason

    def __call__(self) -> bytes:
        raise MediaError(self.reason)


def _portable(items: list) -> list:
    """The plan's items as Ray can ship them: an image whose loader holds an open archive (a zip member) is
    read now and travels as its bytes; one that cannot be read travels as its reason."""
    import cloudpickle

    try:
        cloudpickle.dumps(items)
        return items
    except (TypeError, AttributeError):  # an unpicklable loader somewhere: find which
        pass
    out = []
    for item in items:
        try:
            cloudpickle.dumps(item)
            out.append(item)
            continue
        except (TypeError, AttributeError):
            pass
        try:
            data = item.load()
            out.append(replace(item, load=lambda d=data: d))
        except (MediaError, OSError) as exc:
            out.append(replace(item, load=_Fails(str(exc) or type(exc).__name__)))
    return out


_PLANS: dict[str, tuple] = {}  # per worker process: the plan and decoding context, fetched once per job


def _context(ref) -> tuple:
    import ray

    key = ref.hex()
    if key not in _PLANS:
        _PLANS.clear()
        _PLANS[key] = ray.get(ref)
    return _PLANS[key]


def _decode(batch: dict, ref) -> dict:
    """Decode stage: plan item indices in, one row per item out (an error, a text, or an image's pixels)."""
    items, known, data_dir, preprocess, min_side = _context(ref)
    blobs = Blobs(Path(data_dir))
    rows: dict[str, list] = {c: [] for c in COLUMNS}
    for index in batch["item"].tolist():
        item = items[index]
        row = {"item": index, "id": "", "kind": "", "name": "", "text": "", "metadata": "{}", "source": item.source,
               "error": "", "pixels": b""}
        try:
            record, data = read_item(item)
            row.update(id=record.id, kind=record.kind, name=record.name, text=record.text or "",
                       metadata=json.dumps(record.metadata))
            if record.id not in known and data is not None:
                row["pixels"] = keep_image(record, data, blobs, preprocess, min_side).numpy().tobytes()
        except (MediaError, OSError) as exc:
            row["error"] = str(exc) or type(exc).__name__
        except StoreStopped as exc:
            row["error"] = f"stopped: {exc}"
        for c in COLUMNS:
            rows[c].append(row[c])
    return {c: np.array(v, dtype=np.int64 if c == "item" else object) for c, v in rows.items()}


class _Encode:
    """Encode stage: an actor holding the model; texts and images in, unit vectors out (as float32 bytes)."""

    def __init__(self, spec: ModelSpec, device: str, batch_size: int):
        self.encoder = Encoder(spec, device, batch_size=batch_size)

    def __call__(self, batch: dict) -> dict:
        import torch

        n = len(batch["id"])
        vectors = [b""] * n
        truncated = [False] * n
        images = [i for i in range(n) if batch["pixels"][i]]
        texts = [i for i in range(n) if batch["kind"][i] == "text" and not batch["error"][i]]
        if images:
            size = self.encoder.image_size
            pixels = torch.stack([torch.from_numpy(np.frombuffer(batch["pixels"][i], np.float32).reshape(3, size, size))
                                  for i in images])
            for i, v in zip(images, self.encoder.encode_pixels(pixels)):
                vectors[i] = v.tobytes()
        if texts:
            for i, v in zip(texts, self.encoder.encode_texts([batch["text"][i] for i in texts])):
                vectors[i] = v.tobytes()
                truncated[i] = self.encoder.is_truncated(batch["text"][i])
        out = {c: batch[c] for c in COLUMNS if c != "pixels"}
        out["vector"] = np.array(vectors, dtype=object)
        out["truncated"] = np.array(truncated, dtype=bool)
        return out


def _start(address: str | None) -> bool:
    """Connect to ``address`` (or start a local cluster); True if this call started Ray."""
    try:
        import ray
    except ImportError as exc:
        raise RayUnavailable("--engine ray needs Ray: pip install 'ray[data]' (it is in requirements.txt).") from exc
    if ray.is_initialized():
        return False
    runtime_env = {"env_vars": {"PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}}
    where = f"the Ray cluster at {address}" if address else "a local Ray cluster"
    how = ("Start one with `ray start --head` and pass --ray-address HOST:6379, or leave --ray-address out for a "
           "local one.")
    watchdog = None
    if address:
        _answers(address, how)
        # Ray retries an address that answers but is no Ray head for minutes, deaf to SIGTERM; ray.init must
        # run on the main thread (its signal handlers), so a timer ends the process with one line instead.
        watchdog = threading.Timer(CONNECT_S, _give_up, args=(f"No Ray cluster answered at {address} within "
                                                              f"{CONNECT_S} s (is it a Ray head's GCS port?). {how}",))
        watchdog.daemon = True
        watchdog.start()
    try:
        ray.init(address=address, runtime_env=runtime_env, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise RayUnavailable(f"Cannot start or reach {where}: {str(exc).splitlines()[0][:200]}. {how}") from exc
    finally:
        if watchdog is not None:
            watchdog.cancel()
    return True


def _give_up(message: str) -> None:
    """The end of a connection attempt that never returned: one line on stderr, exit status 2."""
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()
    os._exit(2)


def _answers(address: str, how: str) -> None:
    """Refuse at once an address where nothing listens (``RayUnavailable``), instead of Ray's minutes of retries."""
    target = address.removeprefix("ray://")
    if target == "auto":
        return
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise RayUnavailable(f"--ray-address is HOST:PORT (e.g. 127.0.0.1:6379), not {address!r}.")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_S).close()
    except OSError as exc:
        raise RayUnavailable(f"Nothing answers at {address} ({exc.strerror or type(exc).__name__}). {how}") from None


def run_on_ray(plan: Plan, encoder: Encoder, store: Store, blobs: Blobs, device: str = "auto", batch_size: int = 32,
               progress: Progress | None = None, address: str | None = None) -> Summary:
    """Run ``plan`` into ``store`` on Ray (see the module docstring); the same summary as ``Ingestor.run``."""
    import ray

    started = _start(address)
    try:
        return _run(plan, encoder, store, blobs, device, batch_size, progress)
    finally:
        if started:
            ray.shutdown()


def _run(plan: Plan, encoder: Encoder, store: Store, blobs: Blobs, device: str, batch_size: int,
         progress: Progress | None) -> Summary:
    import ray
    from ray.data import ActorPoolStrategy, DataContext

    DataContext.get_current().enable_progress_bars = False
    summary = Summary(blank=plan.blank, notes=list(plan.notes))
    for failure in plan.failures:
        summary.fail(failure)
    total = len(plan.items)
    if progress:
        progress(0, total)
    if not total:
        return summary
    known = frozenset(store.ids())
    try:
        ref = ray.put((_portable(plan.items), known, str(blobs.root), encoder.preprocess, max(encoder.image_size, 256)))
    except Exception as exc:  # serialisation or the object store: one line, not a traceback
        raise RayUnavailable(f"Cannot ship the ingest plan to Ray: {type(exc).__name__}: "
                             f"{str(exc).splitlines()[0][:200] if str(exc) else ''}") from exc
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    actors = gpus or max(1, int(resources.get("CPU", 1)) // 2)
    dataset = (ray.data.range(total, override_num_blocks=max(1, -(-total // BLOCK)))
               .rename_columns({"id": "item"})
               .map_batches(_decode, fn_args=(ref,), batch_size=BLOCK, batch_format="numpy", num_cpus=1,
                            max_retries=3)
               .map_batches(_Encode, fn_constructor_args=(encoder.spec, device, batch_size), batch_size=batch_size,
                            batch_format="numpy", compute=ActorPoolStrategy(size=actors),
                            num_gpus=1 if gpus else 0, num_cpus=0 if gpus else 1,
                            max_restarts=-1, max_task_retries=-1))
    seen: set[str] = set()  # content ids met in this run
    counted: set[int] = set()  # plan items counted
    done = 0
    try:
        for batch in dataset.iter_batches(batch_size=batch_size, batch_format="numpy"):
            _write(batch, store, encoder.dim, known, seen, counted, summary)
            done += len(batch["id"])
            if progress:
                progress(min(done, total), total)
    except StoreStopped as exc:
        summary.stop(exc)
    except Exception as exc:  # the cluster failed under the job (a raylet died, a node was lost): what was
        first = (str(exc).strip().splitlines() or [""])[0][:160]  # stored stays, and the summary says so
        summary.stop(RuntimeError(f"the Ray cluster failed ({type(exc).__name__}{': ' + first if first else ''})"))
    return summary


def _write(batch: dict, store: Store, dim: int, known: frozenset[str], seen: set[str], done: set[int],
           summary: Summary) -> None:
    """Write stage, counting as the plain engine does: a failure, a duplicate (of the store or of an earlier plan
    item, failed or not) or a new item to upsert. ``seen``: the content ids met in this run; ``done``: the plan
    items counted (a retried task's echo of one is ignored)."""
    records, vectors = [], []
    for i in range(len(batch["id"])):
        index, source = int(batch["item"][i]), str(batch["source"][i])
        error, item_id = str(batch["error"][i]), str(batch["id"][i])
        if index in done:
            continue  # this plan item was already counted: an echo of a retried task
        done.add(index)
        if error.startswith("stopped: "):
            raise StoreStopped(error.removeprefix("stopped: "))
        if item_id and (item_id in known or item_id in seen):
            summary.skip([source], repeated=int(item_id in seen))
            continue
        if item_id:
            seen.add(item_id)
        if error or not batch["vector"][i]:
            summary.fail(Failure(source, error or "not encoded"))
            continue
        record = Record(item_id, str(batch["kind"][i]), str(batch["name"][i]),
                        str(batch["text"][i]) if batch["kind"][i] == "text" else None,
                        json.loads(str(batch["metadata"][i])), source)
        record.truncated = bool(batch["truncated"][i])
        records.append(record)
        vectors.append(np.frombuffer(batch["vector"][i], np.float32))
    if records:
        store_batch(store, records, np.stack(vectors).reshape(len(records), dim), summary)
