"""Ingests that run in the server, not in a browser tab: closing or reloading the page no longer stops them.

One worker thread per registry runs the jobs in the order they were started (an embedded store takes one
writer at a time); anyone can read their progress, and the last few finished jobs keep their summaries.
"""
from __future__ import annotations

import atexit
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from indexing.core.progress import Progress
from indexing.ingest.sources import Plan

HISTORY = 10


@dataclass
class IngestJob:
    """One ingest: what it is, how far it got, and its summary (or the one-line reason it could not run)."""

    id: int
    label: str
    total: int
    done: int = 0
    summary: dict | None = None
    error: str = ""
    started: float = field(default_factory=time.time)
    finished: float | None = None

    @property
    def running(self) -> bool:
        return self.finished is None


class IngestJobs:
    """The server's ingest jobs, shared by every session."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="simlab-ingest")
        # On shutdown, queued ingests are dropped rather than waited for (a rerun completes them).
        atexit.register(self._pool.shutdown, wait=False, cancel_futures=True)
        self._jobs: deque[IngestJob] = deque()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def start(self, label: str, plan: Plan, run: Callable[[Plan, Progress], dict]) -> IngestJob:
        """Queue ``run(plan, progress)`` (which returns the summary as a dict); returns the job at once."""
        job = IngestJob(next(self._ids), label, len(plan.items))
        with self._lock:
            self._jobs.append(job)
            finished = [j for j in self._jobs if not j.running]
            for old in finished[:max(0, len(finished) - HISTORY)]:
                self._jobs.remove(old)

        def progress(done: int, total: int) -> None:
            job.done, job.total = done, total

        def work() -> None:
            try:
                job.summary = run(plan, progress)
            except Exception as exc:  # reported on the page in one line; the server thread goes on
                job.error = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            finally:
                job.finished = time.time()

        self._pool.submit(work)
        return job

    def jobs(self) -> list[IngestJob]:
        """Running and queued jobs first (oldest first), then finished ones (newest first)."""
        with self._lock:
            jobs = list(self._jobs)
        return [j for j in jobs if j.running] + sorted((j for j in jobs if not j.running), key=lambda j: -j.id)

    def wait(self, timeout: float = 600) -> None:
        """Block until every job has finished (tests and the command line)."""
        deadline = time.time() + timeout
        while any(j.running for j in self.jobs()):
            if time.time() > deadline:
                raise TimeoutError(f"ingest jobs still running after {timeout:.0f} s")
            time.sleep(0.1)
