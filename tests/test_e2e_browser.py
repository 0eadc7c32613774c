"""A new user's flow in a real browser: Playwright driving Debian's Chromium against `streamlit run app.py`.

It checks what a person sees (legend colours against their names, the reference image, a map click, the
HTML export, no exception box after a CLI ingest) and saves a full-page screenshot of every step to
test-artifacts/ on every run (and of the page at the moment of a failure).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from components.map.palette import css_colour
from tests.conftest import image_bytes, tiny_env
from benchmarks.servers import CHROMIUM, CHROMIUM_ARGS, REPO, streamlit_app

ARTIFACTS = REPO / "test-artifacts"
XSS = "<img src=x onerror=alert(1)>"
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)")]


POINT_XY = """([trace, i]) => { const gd = document.querySelector('.js-plotly-plot'); const fl = gd._fullLayout;
  const t = gd._fullData[trace]; const r = gd.getBoundingClientRect();
  return [r.left + fl._size.l + fl.xaxis.l2p(t.x[i]), r.top + fl._size.t + fl.yaxis.l2p(t.y[i])]; }"""


@pytest.fixture(scope="module")
def app_env(tmp_path_factory) -> dict:
    return tiny_env(tmp_path_factory.mktemp("e2e") / "data")


@pytest.fixture(scope="module")
def app_url(app_env):
    with streamlit_app(app_env) as url:
        yield url


@pytest.fixture
def page(request):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        pg = context.new_page()
        pg.set_default_timeout(90_000)
        dialogs: list[str] = []
        pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        pg.dialogs = dialogs
        yield pg
        if getattr(request.node, "failed", False):
            ARTIFACTS.mkdir(exist_ok=True)
            pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        browser.close()


def goto(page, url: str, path: str = "") -> None:
    page.goto(f"{url}/{path}")
    page.wait_for_selector("[data-testid='stSidebar']")


def snap(page, name: str) -> None:
    """A full-page screenshot in test-artifacts/ (Streamlit scrolls inside its main area, so grow the window)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(800)
    height = page.evaluate("document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": min(max(height + 40, 1000), 6000)})
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / f"walk-{name}.png"), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 1000})


def no_exception_box(page) -> None:
    page.wait_for_timeout(1500)
    assert page.locator("[data-testid='stException']").count() == 0, \
        page.locator("[data-testid='stException']").first.inner_text()


def settled(page) -> None:
    """Wait until the page's script run has finished (everything it draws is drawn)."""
    page.wait_for_function("document.querySelector('[data-testid=stApp]')?.dataset.testScriptState "
                           "=== 'notRunning'", timeout=120_000)


def stable_count(page, selector: str, quiet_ms: int = 1500, timeout_s: float = 60) -> int:
    """How many elements match once the count has not changed for ``quiet_ms`` (a page streams its elements in
    after its script has finished)."""
    import time

    deadline, last, since = time.time() + timeout_s, -1, time.time()
    while time.time() < deadline:
        count = page.locator(selector).count()
        if count != last:
            last, since = count, time.time()
        elif (time.time() - since) * 1000 >= quiet_ms:
            return count
        page.wait_for_timeout(200)
    return last


def select(page, label: str, option: str) -> None:
    page.locator(f"[data-testid=stSelectbox]:has-text('{label}')").click()
    page.get_by_role("option", name=option, exact=True).click()


def test_new_user_flow(app_url, app_env, page, tmp_path):
    files = tmp_path / "upload"
    files.mkdir()
    (files / "red.png").write_bytes(image_bytes((255, 0, 0)))
    (files / "blue.png").write_bytes(image_bytes((0, 0, 255)))
    (files / f"{XSS}.txt").write_text(f"a caption with {XSS}\nsecond line\n")
    (files / "cells.csv").write_text(f'text,source\n"a cell with {XSS}","[link](javascript:alert(2))"\n')

    goto(page, app_url, "Map")  # a deep link as the first request: the app's own navigation, "Home" first
    page.get_by_role("heading", name="Map").wait_for()
    links = page.locator("[data-testid=stSidebarNavLink]").all_inner_texts()
    assert links[0].split()[-1] == "Home" and not any(link.split()[-1] == "app" for link in links), links
    goto(page, app_url)
    page.get_by_role("heading", name="SimLab").wait_for()
    page.get_by_text("Vector dimension").wait_for()
    snap(page, "01-home")

    goto(page, app_url, "Ingest")
    page.locator("input[type=file]").first.set_input_files([str(p) for p in sorted(files.iterdir())])
    page.get_by_role("button", name="Ingest 4 file(s)").click()
    page.get_by_text("Last ingest").wait_for()
    page.locator("[data-testid='stMetricValue']").first.wait_for()  # the heading can render before the figures
    metrics = page.locator("[data-testid='stMetricValue']").all_inner_texts()
    assert metrics[0] == "5"  # two images, two lines of text, one CSV row
    page.get_by_role("spinbutton", name="Images").fill("30")
    page.get_by_role("spinbutton", name="Images").press("Enter")
    page.get_by_role("button", name="Load demo world").click()
    page.wait_for_function("[...document.querySelectorAll('[data-testid=stMetricValue]')].length > 0 && "
                           "document.querySelectorAll('[data-testid=stMetricValue]')[0].innerText !== '5'")
    snap(page, "02-ingest")

    goto(page, app_url, "Neighbours")
    page.get_by_role("textbox", name="Text", exact=True).fill("a caption")
    page.get_by_role("textbox", name="Text", exact=True).press("Enter")
    page.get_by_text(f"a caption with {XSS}").first.wait_for()  # shown as text, not as an <img>
    page.get_by_role("textbox", name="Text", exact=True).fill(f"a cell with {XSS}")
    page.get_by_role("textbox", name="Text", exact=True).press("Enter")
    page.get_by_text(f"a cell with {XSS}", exact=True).first.wait_for()
    page.get_by_text("source: [link](javascript:alert(2))").first.wait_for()  # a CSV cell, not a link
    assert page.locator("img[src='x']").count() == 0 and page.locator("a[href^='javascript']").count() == 0
    assert not page.dialogs
    page.get_by_role("button", name="Save query for labelling").click()
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("Saved as").wait_for()
    snap(page, "03-neighbours")

    goto(page, app_url, "Map")
    page.locator(".js-plotly-plot").first.wait_for()  # at once: a PCA layout while UMAP fits in the background
    # The fit started after the demo load; a first fit on a new machine compiles numba (about a minute).
    page.get_by_text("UMAP fitted in").wait_for(timeout=300_000)
    # A map fitted on the 5 uploads is refitted for the demo world in the background; the page swaps it in.
    page.wait_for_function("!document.body.innerText.includes('refitting in the background')", timeout=300_000)
    select(page, "Colour by", "color")
    page.wait_for_function("document.querySelector('.js-plotly-plot')?._fullData?.some(t => t.name === 'red')")
    drawn = page.evaluate("() => document.querySelector('.js-plotly-plot')._fullData"
                          ".filter(t => t.customdata && t.name !== 'selected').map(t => [t.name, t.marker.color])")
    colours = {name: colour for name, colour in drawn if css_colour(name)}
    assert len(colours) >= 4 and all(colour == css_colour(name) for name, colour in colours.items()), drawn
    legend = page.evaluate("() => [...document.querySelectorAll('.legendtext')].map(e => e.textContent)")
    assert set(colours) <= set(legend)
    snap(page, "04-map-colours")
    x, y = page.evaluate(POINT_XY, [0, 0])
    page.mouse.click(x, y)
    page.get_by_role("heading", name="Selected item").wait_for(timeout=30_000)
    page.get_by_text("Nearest neighbours").wait_for()
    settled(page)
    # the clicked point's red ring is drawn above the pictures (as a shape: a trace would sit under them)
    clicked = page.evaluate("() => { const t = document.querySelector('.js-plotly-plot')._fullData[0];"
                            " return [t.x[0], t.y[0]]; }")
    rings = page.evaluate("() => (document.querySelector('.js-plotly-plot').layout.shapes || [])"
                          ".filter(s => s.type === 'circle' && s.line.color === 'red' && s.layer === 'above')"
                          ".map(s => [s.xanchor, s.yanchor])")
    assert page.get_by_text("Pictures: ").count() and rings == [pytest.approx(clicked, abs=1e-4)], rings
    assert "map_sel=" in page.url  # the view, selection included, is in the link
    snap(page, "05-map-click")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download map (HTML)").click()
    exported = Path(download.value.path()).read_text()
    rest = exported.split("Plotly.newPlot(", 1)[1].split(",", 1)[1].lstrip()
    traces = json.JSONDecoder().raw_decode(rest)[0]
    assert {t["name"]: t["marker"]["color"] for t in traces if t.get("name") in colours} == colours
    page.get_by_role("textbox", name="Put a text on the map", exact=True).fill("a red circle")
    page.get_by_role("textbox", name="Put a text on the map", exact=True).press("Enter")
    page.get_by_text("Top 10 for the query").wait_for()

    goto(page, app_url, "Compose")
    page.get_by_role("textbox", name="Modification", exact=True).fill("make it blue")
    page.get_by_role("textbox", name="Modification", exact=True).press("Enter")
    page.get_by_text("weighted sum", exact=True).first.wait_for()
    reference = page.locator("[data-testid=stMain] [data-testid=stImage] img").first
    size = reference.evaluate("im => [im.naturalWidth, im.getBoundingClientRect().width]")
    assert size[0] > 0 and size[1] >= 200, size  # a picture large enough to see, not a name in a list
    settled(page)
    pictures = stable_count(page, "[data-testid=stMain] [data-testid=stImage] img")  # every card drawn
    page.get_by_text("Why?", exact=True).first.click()  # the first result's heatmap, in place of its picture
    page.get_by_text("Yellow: matches the modification “make it blue” most").wait_for()
    settled(page)
    assert stable_count(page, "[data-testid=stMain] [data-testid=stImage] img") == pictures
    page.wait_for_function("[...document.querySelectorAll('[data-testid=stMain] [data-testid=stImage] img')]"
                           ".every(im => im.complete && im.naturalWidth > 0)")
    snap(page, "06-compose")

    goto(page, app_url, "Condition")
    page.get_by_role("textbox", name="Condition", exact=True).fill("color")
    page.get_by_role("textbox", name="Condition", exact=True).press("Enter")
    page.get_by_text("Condition: focus on color").wait_for()
    page.get_by_text("Colour the map by conditional similarity").click()
    page.locator(".js-plotly-plot").first.wait_for()
    page.wait_for_function("document.querySelector('.js-plotly-plot')?._fullData?.length > 0")
    scale = page.evaluate("() => document.querySelector('.js-plotly-plot')._fullData.filter(t => t.marker && "
                          "t.marker.showscale).map(t => [t.marker.opacity, t.marker.cmin, t.marker.cmax])")
    assert scale == [[1, 0, 100]], scale  # one sequential scale at full opacity, with its colour bar
    assert page.locator(".js-plotly-plot .colorbar").count() == 1
    snap(page, "07-condition")

    goto(page, app_url, "Label")
    page.get_by_role("textbox", name="Annotator", exact=True).fill("e2e")
    page.get_by_role("textbox", name="Annotator", exact=True).press("Enter")
    page.get_by_text("0 / ").first.wait_for()
    for n, grade in enumerate(("3", "0", "2", "1", "2"), start=1):
        images = page.locator("[data-testid=stMain] [data-testid=stImage] img")
        if images.count():  # the item being judged: never blown up past its own size
            natural, drawn_width = images.first.evaluate("im => [im.naturalWidth, im.getBoundingClientRect().width]")
            assert drawn_width <= min(480, natural) + 1, (natural, drawn_width)
        page.get_by_role("button", name=f"{grade} · ").first.click()
        page.get_by_text(f"{n} / ").first.wait_for()  # judged and shown before the next click
    page.locator("[data-testid='stDataFrame']").first.wait_for()  # the metrics came back with the first judgment
    assert page.get_by_text("No judgments yet").count() == 0
    page.get_by_text("Relevance cut-off (").click()  # a few judgments of one query: it says what it still needs
    page.get_by_text("The cut-off needs").wait_for()
    page.get_by_text("Adapter (a similarity").click()
    page.get_by_text("No adapter saved yet.").wait_for()
    snap(page, "08-label")
    with page.expect_download() as download:
        page.get_by_role("button", name="qrels", exact=True).click()
    lines = Path(download.value.path()).read_text().splitlines()
    assert len(lines) == 5 and all(len(line.split()) == 4 and line.split()[1] == "0" for line in lines)
    assert sorted(int(line.split()[3]) for line in lines) == [0, 1, 2, 2, 3]

    # Another process writes while the app is open: every page goes on, with the new items.
    subprocess.run([sys.executable, "-m", "indexing", "demo", "--n", "12", "--seed", "77"], env=app_env, cwd=REPO,
                   check=True, capture_output=True)
    goto(page, app_url, "Model_check")
    page.get_by_text("binding: colours on the right shapes").first.wait_for(timeout=120_000)
    page.wait_for_function("document.querySelector('.js-plotly-plot')?._fullData?.length === 2")
    marks = page.evaluate("() => document.querySelector('.js-plotly-plot')._fullData.map(t => [t.name, "
                          "t.marker.color])")
    assert marks == [["model", "#2c7fb8"], ["chance", "#d95f02"]], marks
    snap(page, "09-model-check")

    for path in ("", "Neighbours", "Map", "Compose", "Condition", "Label", "Model_check"):
        goto(page, app_url, path)
        settled(page)
        no_exception_box(page)
    snap(page, "10-label-after-cli-ingest")


def test_home_shows_every_setting_and_an_uploaded_reference_is_left_out(app_url, app_env, page, tmp_path):
    """Home's tables are drawn whole (nothing scrolls inside them); on Compose, an uploaded reference that is
    already indexed (ids are content hashes) is named in a note and absent from every method's results."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for name, colour in (("ref-red.png", (200, 10, 10)), ("ref-blue.png", (10, 10, 200)),
                         ("ref-green.png", (10, 200, 10))):
        (photos / name).write_bytes(image_bytes(colour, size=(96, 80)))
    subprocess.run([sys.executable, "-m", "indexing", "ingest", str(photos)], env=app_env, cwd=REPO, check=True,
                   capture_output=True)
    goto(page, app_url)
    settled(page)
    page.wait_for_function("document.querySelectorAll('[data-testid=stDataFrame] .dvn-scroller').length === 2")
    heights = page.evaluate("() => [...document.querySelectorAll('[data-testid=stDataFrame] .dvn-scroller')]"
                            ".map(s => [s.scrollHeight, s.clientHeight])")
    assert len(heights) == 2 and all(inner <= shown + 2 for inner, shown in heights), heights
    snap(page, "11-home-settings")

    goto(page, app_url, "Compose")
    page.get_by_text("Upload", exact=True).click()
    page.locator("[data-testid=stMain] input[type=file]").set_input_files(str(photos / "ref-red.png"))
    page.get_by_role("textbox", name="Modification", exact=True).fill("make it blue")
    page.get_by_role("textbox", name="Modification", exact=True).press("Enter")
    page.get_by_text("left out of its own results").wait_for()
    settled(page)
    from indexing.ingest.sources import image_id

    page.wait_for_function("document.querySelectorAll('[data-testid=stMain] [data-testid=stCode]').length >= 6")
    ids = page.locator("[data-testid=stMain] [data-testid=stCode]").all_inner_texts()  # each card's id
    assert len(ids) >= 6 and image_id((photos / "ref-red.png").read_bytes()) not in " ".join(ids)
    no_exception_box(page)
    snap(page, "12-compose-uploaded-reference")


def test_a_typed_name_then_grade_keys_credit_every_judgment_to_that_name(page, tmp_path):
    """Type a name and press Enter, judge with the keyboard, leave the page and come back, reload: every
    judgment is stored under that one name (the name box gives way, so a grade key is never typed into it)."""
    from indexing.labels.label_store import LabelStore

    env = tiny_env(tmp_path / "data")
    subprocess.run([sys.executable, "-m", "indexing", "demo", "--n", "16", "--seed", "3"], env=env, cwd=REPO,
                   check=True, capture_output=True)
    qid = subprocess.run([sys.executable, "-m", "indexing", "labels", "save", "--spec",
                          '{"type": "text", "text": "a red circle", "kind": "image"}'], env=env, cwd=REPO,
                         check=True, capture_output=True, text=True).stdout.strip()
    with streamlit_app(env) as url:
        goto(page, url, "Label")
        page.get_by_role("textbox", name="Annotator", exact=True).fill("walker")
        page.get_by_role("textbox", name="Annotator", exact=True).press("Enter")
        page.get_by_text("Judging as walker").wait_for()
        settled(page)
        assert page.get_by_role("textbox", name="Annotator", exact=True).count() == 0
        grades = page.locator("[data-testid=stMain] button", has_text=" · ")
        kinds = grades.evaluate_all("bs => bs.map(b => b.getAttribute('data-testid'))")
        assert len(kinds) == 4 and set(kinds) == {"stBaseButton-secondary"}, kinds  # none looks chosen
        for n, key in enumerate(("1", "2"), start=1):
            page.keyboard.press(key)
            page.get_by_text(f"{n} / ").first.wait_for()
            settled(page)
        page.locator("[data-testid=stSidebarNav] a", has_text="Neighbours").click()  # leave, same session
        page.get_by_role("heading", name="Neighbours").wait_for()
        page.locator("[data-testid=stSidebarNav] a", has_text="Label").click()
        page.get_by_text("Judging as walker").wait_for()
        settled(page)
        page.keyboard.press("3")
        page.get_by_text("3 / ").first.wait_for()
        settled(page)
        assert "annotator=walker" in page.url
        page.reload()  # a new session: the name comes back from the address
        page.get_by_text("Judging as walker").wait_for()
        page.get_by_text("3 / 10 judged").wait_for()
        page.wait_for_function("!document.body.innerText.includes('CONNECTING')")
        settled(page)
        page.keyboard.press("0")
        page.get_by_text("4 / ").first.wait_for()
        settled(page)
        no_exception_box(page)
        snap(page, "13-label-keys")
    judged = LabelStore(tmp_path / "data").judgments(qid)
    assert len(judged) == 4 and {j.annotator for j in judged} == {"walker"}, judged
    assert sorted(j.rel for j in judged) == [0, 1, 2, 3]


def test_a_box_drawn_after_the_layout_changed_stays_inside_the_map_and_a_link_restores_it(page, tmp_path):
    """The quick PCA layout is replaced by UMAP; a box drawn then is stored in the map's data coordinates (its
    outline inside the axes) and the copied link selects the same items ("N selected")."""
    import re

    env = tiny_env(tmp_path / "data")
    subprocess.run([sys.executable, "-m", "indexing", "demo", "--n", "60", "--seed", "5"], env=env, cwd=REPO,
                   check=True, capture_output=True)
    with streamlit_app(env) as url:
        goto(page, url, "Map")
        page.get_by_text("UMAP fitted in").wait_for(timeout=300_000)  # it replaced the quick layout
        page.wait_for_function("document.querySelector('.js-plotly-plot')?._fullData?.length > 0")
        settled(page)
        page.locator(".js-plotly-plot").first.hover()  # the toolbar shows on hover
        page.locator(".js-plotly-plot .modebar-btn[data-val='select']").first.click()
        page.wait_for_function("document.querySelector('.js-plotly-plot')._fullLayout.dragmode === 'select'")
        # a box around the first point's neighbourhood on screen (the points where this layout put them)
        points = page.evaluate("""() => { const gd = document.querySelector('.js-plotly-plot');
            const fl = gd._fullLayout; const r = gd.getBoundingClientRect(); const out = [];
            gd._fullData.forEach(t => { if (!t.customdata) return; for (let i = 0; i < t.x.length; i++)
              out.push([r.left + fl._size.l + fl.xaxis.l2p(t.x[i]), r.top + fl._size.t + fl.yaxis.l2p(t.y[i])]); });
            return out; }""")
        near = [(x, y) for x, y in points if abs(x - points[0][0]) < 60 and abs(y - points[0][1]) < 60]
        assert len(near) >= 2, points[:5]
        x0, x1 = min(x for x, _ in near) - 8, max(x for x, _ in near) + 8
        y0, y1 = min(y for _, y in near) - 8, max(y for _, y in near) + 8
        page.mouse.move(x0, y0)
        page.mouse.down()
        page.mouse.move(x1, y1, steps=15)
        page.mouse.up()
        heading = page.get_by_role("heading", name=re.compile(r"^\d+ selected$"))
        heading.wait_for(timeout=60_000)
        settled(page)
        selected = heading.inner_text()
        outline, xr, yr = page.evaluate("() => { const gd = document.querySelector('.js-plotly-plot');"
                                        " const s = (gd.layout.selections || [])[0]; const fl = gd._fullLayout;"
                                        " return [s ? [s.x0, s.x1, s.y0, s.y1] : null, fl.xaxis.range,"
                                        " fl.yaxis.range]; }")
        assert outline is not None, "the box is not drawn on the map"
        assert min(xr) <= min(outline[:2]) <= max(outline[:2]) <= max(xr), (outline, xr)
        assert min(yr) <= min(outline[2:]) <= max(outline[2:]) <= max(yr), (outline, yr)
        assert "map_region=box" in page.url
        snap(page, "14-map-box")
        shared = page.context.new_page()
        shared.goto(page.url)  # the copied link, in a new session
        shared.get_by_role("heading", name=selected, exact=True).wait_for(timeout=120_000)
        shared.close()
