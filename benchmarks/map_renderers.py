"""Which renderer draws a large map: plotly WebGL (what the Map page uses) against Embedding Atlas's Streamlit
component, each in a real Streamlit page in headless Chromium, N synthetic map points.

    python -m benchmarks.map_renderers --n 1000000 [--renderers plotly,atlas] [--json]

Per renderer: ready_s (from opening the page to the points drawn), received_mb (everything the server sent
over the websocket), zoom_ms (a mouse-wheel zoom until two frames have been drawn after it), zoom_messages
(messages the browser sent to the server during the zoom: 0 means no server round-trip), and
server_cpu_s (the Streamlit process's CPU time for the page). Embedding Atlas is optional
(``pip install --no-deps embedding-atlas``: its Streamlit component needs nothing else; the package's own
dependencies include pandas ≥ 3, sentence-transformers, litellm and duckdb): without it that row says so.
Chromium here has no GPU (software WebGL), so the browser times are an upper bound.
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
from components.map_figure import map_figure
from indexing.store import Record

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

DRAWN = {"plotly": ".js-plotly-plot .gl-container canvas", "atlas": "iframe"}


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
        start = time.perf_counter()
        page.goto(url, timeout=600_000)
        page.wait_for_selector(DRAWN[renderer], timeout=600_000)
        target = page
        if renderer == "atlas":
            target = page.frame_locator("iframe").first.locator("canvas").first
            target.wait_for(timeout=600_000)
            frame = page.frames[-1]
        else:
            frame = page.main_frame
        frame.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        ready_s = time.perf_counter() - start
        page.wait_for_function("() => document.querySelector('[data-testid=stApp]')?.dataset.testScriptState"
                               " === 'notRunning'", timeout=600_000)
        server_cpu_s = _cpu_seconds(pid) - cpu_before if pid else float("nan")
        box = (page.locator(".js-plotly-plot").first if renderer == "plotly" else page.locator("iframe").first
               ).bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        sent_before = sent[0]
        zooms = []
        for _ in range(3):
            start = time.perf_counter()
            page.mouse.wheel(0, -300)
            frame.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
            zooms.append((time.perf_counter() - start) * 1000)
        time.sleep(1.0)
        result = {"renderer": renderer, "ready_s": round(ready_s, 2), "received_mb": round(received[0] / 1e6, 2),
                  "zoom_ms": round(float(np.median(zooms)), 1), "zoom_messages": sent[0] - sent_before,
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
