"""Concurrent sessions searching and labelling at once: errors, lost judgments, interaction times.

    python -m benchmarks.load [--sessions 20] [--rounds 5] [--items 200] [--processes 1]
                              [--client protocol|browser] [--json]

Starts `streamlit run app.py` on the bundled model with a demo world in a temporary data directory
(``--processes N`` > 1: N app processes sharing that directory, its label store, and one `chroma run`
server, each session staying on one process as a sticky-session proxy would keep it), then drives
``--sessions`` sessions at once. Each session searches ``--rounds`` times on Neighbours, then judges
``--rounds`` items on Label under its own annotator name, with no pause between actions.

``--client protocol`` (the default): each session is the frontend's messages over the app's websocket
(``benchmarks.ws_client``), no browser: an interaction is timed from sending the rerun until the run's
end-of-run message arrives; then every image shown is fetched once, as a browser would, timed apart
(search_images_fetch_p95_ms). This is the server's figure, as when each user's browser runs on the user's
own machine. Not modelled: timed reruns (``run_every``) a page may ask its frontend for.
``--client browser``: one context of a headless Chromium per session (Playwright). An interaction is timed
from the keypress or click until the server's message that ends the script run it caused arrives on the
page's websocket (not the painting). The 20 software-rendered pages share the server's two cores, so
their processes run at the lowest priority; their CPU is reported too.

Errors are exceptions or error boxes on the page and failed waits; judgments are counted in SQLite
afterwards; the server's CPU per interaction is reported.
"""
from __future__ import annotations

import asyncio
import os
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.report import parser, print_figures
from benchmarks.servers import CHROMIUM, CHROMIUM_ARGS, streamlit_app

TIMEOUT_S = 300
BROWSER = Path(CHROMIUM).name  # what its processes' command lines contain

QID = "q-load"
# Headless Chromium paints every animation frame in software; with 20 pages on the same two cores as the
# server that is most of the CPU. Users' browsers run elsewhere, so the clients here do not animate.
STILL = """
document.addEventListener('DOMContentLoaded', () => {
  const s = document.createElement('style');
  s.textContent = '*, *::before, *::after { animation: none !important; transition: none !important; }';
  document.head.appendChild(s);
});
"""
ERRORS = "[data-testid='stException'], [data-testid='stAlertContentError']"


def processes(match: str) -> list[int]:
    """Pids whose command line contains ``match``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if match in cmdline:
                pids.append(int(entry.name))
        except OSError:  # gone since the listing
            continue
    return pids


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except OSError:
            continue
    return total / os.sysconf("SC_CLK_TCK")


class ServerCpu:
    """The CPU each app process (found by its port) has used since this was made."""

    def __init__(self, urls: list[str]) -> None:
        self.pids = [processes(f"--server.port {url.rsplit(':', 1)[1]}") for url in urls]
        self.before = [cpu_seconds(pids) for pids in self.pids]

    def used(self) -> list[float]:
        return [cpu_seconds(pids) - before for pids, before in zip(self.pids, self.before)]


async def yield_to_server(stop: asyncio.Event) -> None:
    """Lowest priority for the browser's processes (new ones appear per context): the clients stand in
    for browsers on other machines, so they get only the CPU the server leaves."""
    while not stop.is_set():
        for pid in processes(BROWSER):
            try:
                os.setpriority(os.PRIO_PROCESS, pid, 19)
            except OSError:
                continue
        await asyncio.sleep(1)


class Runs:
    """When a page asked for script runs and when the server finished them, from the app's own websocket."""

    def __init__(self, page) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        done = {ForwardMsg.DESCRIPTOR.fields_by_name["script_finished"].enum_type.values_by_name[n].number
                for n in ("FINISHED_SUCCESSFULLY", "FINISHED_WITH_COMPILE_ERROR", "FINISHED_FRAGMENT_RUN_SUCCESSFULLY")}
        self.asked: list[float] = []
        self.finished: list[float] = []

        def received(payload) -> None:
            if isinstance(payload, bytes):
                msg = ForwardMsg.FromString(payload)
                if msg.WhichOneof("type") == "script_finished" and msg.script_finished in done:
                    self.finished.append(time.perf_counter())

        def sent(payload) -> None:
            if isinstance(payload, bytes) and BackMsg.FromString(payload).WhichOneof("type") == "rerun_script":
                self.asked.append(time.perf_counter())

        def watch(ws) -> None:
            ws.on("framereceived", received)
            ws.on("framesent", sent)

        page.on("websocket", watch)

    async def timed(self, action) -> tuple[float, float]:
        """(seconds from ``action`` until the run it caused finished, seconds from the page's rerun request
        until then: the server's share, without the browser's input handling)."""
        finished, asked = len(self.finished), len(self.asked)
        start = time.perf_counter()
        await action()
        while len(self.finished) == finished:
            if time.perf_counter() - start > TIMEOUT_S:
                raise TimeoutError(f"no script run finished within {TIMEOUT_S} s")
            await asyncio.sleep(0.005)
        end = self.finished[finished]
        return end - start, end - (self.asked[asked] if len(self.asked) > asked else start)

    async def open(self, page, url: str) -> float:
        return (await self.timed(lambda: page.goto(url)))[0]


async def session(browser, url: str, i: int, rounds: int, out: dict, annotator: str = "") -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, reduced_motion="reduce")
    await context.add_init_script(STILL)
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_S * 1000)
    runs = Runs(page)
    try:
        out["opens"].append(await runs.open(page, f"{url}/Neighbours"))
        box = page.get_by_role("textbox", name="Text", exact=True)
        for r in range(rounds):
            async def search() -> None:
                await box.fill(f"a red circle {i}.{r}")
                await box.press("Enter")
            total, server = await runs.timed(search)
            out["search"].append(total)
            out["server"].append(server)
            if not await page.get_by_role("heading", name=re.compile(r"^\d+ nearest$")).count():
                out["errors"].append(f"session {i}: search {r} showed no results")
        out["opens"].append(await runs.open(page, f"{url}/Label"))
        name = page.get_by_role("textbox", name="Annotator", exact=True)
        await name.fill(annotator or f"annotator-{i}")
        await name.press("Enter")
        await page.get_by_text("0 / ").first.wait_for()
        for r in range(rounds):
            grade = page.get_by_role("button", name=f"{(i + r) % 4} · ").first
            total, server = await runs.timed(grade.click)
            out["judge"].append(total)
            out["server"].append(server)
            await page.get_by_text(f"{r + 1} / ").first.wait_for()
        for text in await page.locator(ERRORS).all_inner_texts():
            out["errors"].append(f"session {i}: {text.strip().splitlines()[0][:200]}")
    except Exception as exc:  # a benchmark reports failures; it does not stop at the first
        out["errors"].append(f"session {i}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    finally:
        await context.close()


async def protocol_session(url: str, i: int, rounds: int, out: dict, annotator: str = "") -> None:
    """``session``'s steps, sent over the app's websocket as the frontend sends them (``benchmarks.ws_client``)."""
    from benchmarks.ws_client import Session

    tab = Session(url, timeout=TIMEOUT_S)
    try:
        out["opens"].append(await tab.open("Neighbours"))
        for r in range(rounds):
            total = await tab.type("Text", f"a red circle {i}.{r}")
            out["search"].append(total)
            out["server"].append(total)
            out["media"].append(tab.media_s)
            if not any(re.fullmatch(r"\d+ nearest", t) for t in tab.texts()):
                out["errors"].append(f"session {i}: search {r} showed no results")
        out["errors"] += [f"session {i}: {e.splitlines()[0][:200]}" for e in tab.errors()]
        out["opens"].append(await tab.open("Label"))
        await tab.type("Annotator", annotator or f"annotator-{i}")
        await tab.wait_for_text("0 / ")
        for r in range(rounds):
            total = await tab.click(f"{(i + r) % 4} · ")
            out["judge"].append(total)
            out["server"].append(total)
            await tab.wait_for_text(f"{r + 1} / ")
        out["errors"] += [f"session {i}: {e.splitlines()[0][:200]}" for e in tab.errors()]
    except Exception as exc:  # a benchmark reports failures; it does not stop at the first
        out["errors"].append(f"session {i}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    finally:
        await tab.close()


async def drive_protocol(urls: list[str], sessions: int, rounds: int) -> dict:
    """All sessions at once over websockets from this process (no browser)."""
    out: dict[str, list] = {"opens": [], "search": [], "judge": [], "server": [], "media": [], "errors": []}
    for k, url in enumerate(urls):  # model and store load here, not in the figures
        warm = {name: [] for name in out}
        await protocol_session(url, 0, 1, warm, annotator=f"warm-up-{k}")
        out["errors"] += warm["errors"]
    server = ServerCpu(urls)
    client_cpu = time.process_time()
    start = time.perf_counter()
    await asyncio.gather(*(protocol_session(urls[i % len(urls)], i, rounds, out) for i in range(sessions)))
    out["wall_s"] = time.perf_counter() - start
    out["app_cpu_s"] = server.used()
    out["client_cpu_s"] = time.process_time() - client_cpu
    return out


async def drive(urls: list[str], sessions: int, rounds: int) -> dict:
    from playwright.async_api import async_playwright

    out: dict[str, list] = {"opens": [], "search": [], "judge": [], "server": [], "errors": []}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        stop = asyncio.Event()
        nice = asyncio.create_task(yield_to_server(stop))
        warm = {"opens": [], "search": [], "judge": [], "server": [], "errors": []}
        for k, url in enumerate(urls):  # model and store load here, not in the figures
            await session(browser, url, 0, 1, warm, annotator=f"warm-up-{k}")
        out["errors"] += warm["errors"]
        server = ServerCpu(urls)
        browsers_before = cpu_seconds(processes(BROWSER))
        start = time.perf_counter()
        await asyncio.gather(*(session(browser, urls[i % len(urls)], i, rounds, out) for i in range(sessions)))
        out["wall_s"] = time.perf_counter() - start
        out["app_cpu_s"] = server.used()
        # renderers closed meanwhile are not counted
        out["browser_cpu_s"] = cpu_seconds(processes(BROWSER)) - browsers_before
        stop.set()
        await nice
        await browser.close()
    return out


def ms(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)) * 1000, 1) if values else None


def measure(sessions: int, rounds: int, items: int, app_processes: int = 1, client: str = "protocol") -> dict:
    from contextlib import ExitStack

    from benchmarks.servers import free_port, start_chroma, stop

    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SIMLAB_", "CHROMA_"))}
        env.update(SIMLAB_DATA=tmp, SIMLAB_MODEL="simlab-shapes", HF_HUB_OFFLINE="1")
        if app_processes > 1:  # one store every process reaches
            port = free_port()
            chroma = start_chroma(Path(tmp) / "chroma-server", port)
            stack.callback(stop, chroma)
            env.update(CHROMA_HOST="127.0.0.1", CHROMA_PORT=str(port))
        from indexing.shapes.demo import demo_plan
        from indexing.lab import open_lab
        from indexing.labels.label_store import LabelStore
        from indexing.query.specs import NeighboursQuery, Source
        from indexing.core.settings import load_settings

        open_lab(load_settings(env)).ingest(demo_plan(items))
        labels = LabelStore(Path(tmp))
        labels.save_query("load", NeighboursQuery(Source(text="a red circle"), kind="image"), qid=QID)
        urls = [stack.enter_context(streamlit_app(env)) for _ in range(app_processes)]
        out = asyncio.run((drive if client == "browser" else drive_protocol)(urls, sessions, rounds))
        stored = [j for j in labels.judgments(QID) if j.annotator.startswith("annotator-")]
        interactions = out["search"] + out["judge"]
        return {"client": client, "sessions": sessions, "rounds": rounds, "items": items,
                "app_processes": app_processes,
                "interactions": len(interactions), "errors": len(out["errors"]),
                "error_examples": sorted({e.split(": ", 1)[1] for e in out["errors"]})[:5],
                "judgments_expected": sessions * rounds, "judgments_stored": len(stored),
                "p50_ms": ms(interactions, 50), "p95_ms": ms(interactions, 95),
                "server_p50_ms": ms(out["server"], 50), "server_p95_ms": ms(out["server"], 95),
                "search_p50_ms": ms(out["search"], 50), "search_p95_ms": ms(out["search"], 95),
                "judge_p50_ms": ms(out["judge"], 50), "judge_p95_ms": ms(out["judge"], 95),
                "page_open_p50_ms": ms(out["opens"], 50), "page_open_p95_ms": ms(out["opens"], 95),
                "wall_s": round(out["wall_s"], 1), "server_cpu_s": round(sum(out["app_cpu_s"]), 1),
                "server_cpu_s_per_process": [round(s, 1) for s in out["app_cpu_s"]],
                "server_cpu_ms_per_interaction": round(sum(out["app_cpu_s"]) * 1000 / max(1, len(out["server"])), 1),
                **({"browser_cpu_s_at_least": round(out["browser_cpu_s"], 1)} if "browser_cpu_s" in out else {}),
                **({"client_cpu_s": round(out["client_cpu_s"], 1),
                    "search_images_fetch_p95_ms": ms(out["media"], 95)} if "client_cpu_s" in out else {})}


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--sessions", type=int, default=20)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--items", type=int, default=200, help="demo-world items in the store")
    p.add_argument("--processes", type=int, default=1, help="app processes sharing one Chroma server")
    p.add_argument("--client", choices=("protocol", "browser"), default="protocol",
                   help="protocol: the frontend's messages over the websocket, no browser (the server's figures, "
                        "as when each user's browser runs on their own machine); browser: one headless Chromium "
                        "context per session, on this machine's cores")
    args = p.parse_args()
    result = measure(args.sessions, args.rounds, args.items, args.processes, args.client)
    print_figures(result, args.json)


if __name__ == "__main__":
    main()
