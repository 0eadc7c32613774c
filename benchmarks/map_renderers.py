"""Which renderer draws a large map: plotly WebGL (what the Map page uses) against Embedding Atlas's Streamlit
component, each in a real Streamlit page in headless Chromium, N synthetic map points.

    python -m benchmarks.map_renderers --n 1000000 [--renderers plotly,atlas] [--json]

Per renderer: ready_s (from opening the page to the points drawn), received_mb (everything the server sent
over the websocket), zoom_ms (the toolbar's zoom-in until two frames have been drawn after it), pan_ms (a
mouse drag, likewise), view_changed (the screen differs afterwards: the zoom and pan happened),
zoom_pan_messages (messages the browser sent the server meanwhile: 0 means no server round-trip), and
server_cpu_s (the Streamlit process's CPU time for the page). Embedding Atlas is optional
(``pip install --no-deps embedding-atlas``: its Streamlit component needs nothing else; the package's own
dependencies include pandas ≥ 3, sentence-transformers, litellm and duckdb): without it that row says so. A
renderer that fetches code from the internet at run time fails here (no network), and the row says which
address it needed. Chromium here has no GPU (software WebGL), so the browser times are an upper bound.
"""
from __future__ import annotations

import importlib.util
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.report import parser, print_figures
from benchmarks.servers import CHROMIUM, CHROMIUM_ARGS, REPO, streamlit_app

PAGE = '''
import numpy as np, pandas as pd, streamlit as st
from components.map.figure import map_figure
from indexing.store.chroma import Record

st.set_page_config(layout="wide")
coords = np.load({coords!r})
groups = [str(i % 20) for i in range(len(coords))]
if {renderer!r} == "plotly":
    records = [Record(f"id{{i}}", "image", f"image-{{i}}.jpg", None, {{}}) for i in range(len(coords))]
    st.plotly_chart(map_figure(coords, records, groups), key="chart", on_select="rerun",
                    selection_mode=("points", "box", "lasso"))
else:
    from embedding_atlas.streamlit import embedding_atlas
    frame = pd.DataFrame({{"x": coords[:, 0], "y": coords[:, 1], "group": groups}})
    embedding_atlas(frame, x="x", y="y", text="group", labels="disabled", key="atlas")
st.write("drawn")
'''

TIMEOUT_MS = 240_000  # a renderer that has drawn nothing by then has failed here
DRAWN = {"plotly": ".js-plotly-plot .gl-container canvas", "atlas": "iframe"}


def _drawn(page, renderer: str, offline: list[str], deadline: float):
    """The frame the points are drawn in, once they are; None if a request to the outside failed first (after a
    short grace) or the deadline passed."""
    failed_at = None
    while time.time() < deadline:
        if renderer == "plotly" and page.query_selector(DRAWN["plotly"]):
            return page.main_frame
        if renderer == "atlas":
            for frame in page.frames[1:]:
                if frame.query_selector("canvas"):
                    return frame
        if offline:
            failed_at = failed_at or time.time()
            if time.time() - failed_at > 20:
                return None
        time.sleep(0.25)
    return None


def coords_file(n: int, folder: str) -> str:
    """A map-like layout: 30 blobs of different sizes."""
    rng = np.random.default_rng(0)
    centres = rng.uniform(-10, 10, size=(30, 2))
    coords = (centres[rng.integers(0, 30, n)] + rng.normal(scale=0.6, size=(n, 2))).astype(np.float32)
    path = os.path.join(folder, "coords.npy")
    np.save(path, coords)
    return path


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _streamlit_pid(port: str) -> int:
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"streamlit" in b" ".join(cmd) and port.encode() in cmd:
                return int(proc.name)
    return 0


def measure(renderer: str, coords: str, folder: str) -> dict:
    """One renderer's figures, or ``error`` with what went wrong (a screenshot is kept in ``folder``)."""
    try:
        return _measure(renderer, coords, folder)
    except Exception as exc:  # a renderer that fails here is a finding, not a crash of the benchmark
        return {"renderer": renderer, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}


def _measure(renderer: str, coords: str, folder: str) -> dict:
    from playwright.sync_api import sync_playwright

    if renderer == "atlas" and importlib.util.find_spec("embedding_atlas") is None:
        return {"renderer": renderer, "error": "embedding-atlas is not installed (pip install --no-deps embedding-atlas)"}
    script = Path(folder) / f"{renderer}_page.py"
    script.write_text(PAGE.format(coords=coords, renderer=renderer))
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    with streamlit_app(env, script=str(script)) as url, sync_playwright() as p:
        pid = _streamlit_pid(url.rsplit(":", 1)[1])
        cpu_before = _cpu_seconds(pid) if pid else 0.0
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        received, sent = [0], [0]

        def watch(ws) -> None:
            ws.on("framereceived", lambda payload: received.__setitem__(0, received[0] + len(payload)))
            ws.on("framesent", lambda payload: sent.__setitem__(0, sent[0] + 1))

        page.on("websocket", watch)
        offline: list[str] = []  # requests that left this machine and failed (no network here)
        page.on("requestfailed", lambda r: offline.append(r.url) if "127.0.0.1" not in r.url else None)
        start = time.perf_counter()
        page.goto(url, timeout=TIMEOUT_MS)
        frame = _drawn(page, renderer, offline, time.time() + TIMEOUT_MS / 1000)
        if frame is None:
            page.screenshot(path=str(Path(folder) / f"{renderer}-failed.png"))
            browser.close()
            why = f"needs the network: {offline[0].split('/')[2]} ({offline[0].rsplit('/', 1)[1]})" if offline else \
                f"nothing drawn within {TIMEOUT_MS // 1000} s"
            return {"renderer": renderer, "error": f"draws nothing here, {why}"}
        frame.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        ready_s = time.perf_counter() - start
        page.wait_for_function("() => document.querySelector('[data-testid=stApp]')?.dataset.testScriptState"
                               " === 'notRunning'", timeout=TIMEOUT_MS)
        server_cpu_s = _cpu_seconds(pid) - cpu_before if pid else float("nan")
        box = (page.locator(".js-plotly-plot").first if renderer == "plotly" else page.locator("iframe").first
               ).bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        frames = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
        sent_before = sent[0]
        zooms, pans = [], []
        before = page.screenshot()
        for _ in range(3):
            start = time.perf_counter()
            if renderer == "plotly":
                page.locator(".modebar-btn[data-title='Zoom in']").first.click()
            else:
                page.mouse.move(x, y)
                page.mouse.wheel(0, -300)
            frame.evaluate(frames)
            zooms.append((time.perf_counter() - start) * 1000)
        for _ in range(3):  # drag the map sideways (pan is the default drag)
            start = time.perf_counter()
            page.mouse.move(x, y)
            page.mouse.down()
            page.mouse.move(x + 120, y + 40, steps=4)
            page.mouse.up()
            frame.evaluate(frames)
            pans.append((time.perf_counter() - start) * 1000)
        time.sleep(1.0)
        moved = page.screenshot() != before
        result = {"renderer": renderer, "ready_s": round(ready_s, 2), "received_mb": round(received[0] / 1e6, 2),
                  "zoom_ms": round(float(np.median(zooms)), 1), "pan_ms": round(float(np.median(pans)), 1),
                  "view_changed": moved, "zoom_pan_messages": sent[0] - sent_before,
                  "server_cpu_s": round(server_cpu_s, 2)}
        page.screenshot(path=str(Path(folder) / f"{renderer}.png"))
        browser.close()
        return result


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--renderers", default="plotly,atlas")
    p.add_argument("--keep", help="a folder to keep each renderer's screenshot in")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or tmp
        Path(folder).mkdir(parents=True, exist_ok=True)
        coords = coords_file(args.n, folder)
        result: dict = {"n": args.n}
        for renderer in args.renderers.split(","):
            for key, value in measure(renderer, coords, folder).items():
                if key != "renderer":
                    result[f"{renderer}_{key}"] = value
    print_figures(result, args.json)


if __name__ == "__main__":
    main()
