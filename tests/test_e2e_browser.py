"""A new user's flow in a real browser: Playwright driving Debian's Chromium against `streamlit run app.py`.

Screenshots of the page at the moment of a failure go to test-artifacts/.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import image_bytes, tiny_env
from tests.servers import CHROMIUM, CHROMIUM_ARGS, REPO, streamlit_app

ARTIFACTS = REPO / "test-artifacts"
XSS = "<img src=x onerror=alert(1)>"
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)")]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with streamlit_app(tiny_env(tmp_path_factory.mktemp("e2e") / "data")) as url:
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


def test_new_user_flow(app_url, page, tmp_path):
    files = tmp_path / "upload"
    files.mkdir()
    (files / "red.png").write_bytes(image_bytes((255, 0, 0)))
    (files / "blue.png").write_bytes(image_bytes((0, 0, 255)))
    (files / f"{XSS}.txt").write_text(f"a caption with {XSS}\nsecond line\n")
    (files / "cells.csv").write_text(f'text,source\n"a cell with {XSS}","[link](javascript:alert(2))"\n')

    goto(page, app_url)
    page.get_by_role("heading", name="SimLab").wait_for()
    page.get_by_text("Vector dimension").wait_for()

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

    goto(page, app_url, "Map")
    # The first map after a server start compiles UMAP's numba code: about a minute on two cores.
    page.locator(".js-plotly-plot").first.wait_for(timeout=300_000)
    page.get_by_role("textbox", name="Put a text on the map", exact=True).fill("a red circle")
    page.get_by_role("textbox", name="Put a text on the map", exact=True).press("Enter")
    page.get_by_text("Top 10 for the query").wait_for(timeout=300_000)

    goto(page, app_url, "Compose")
    page.get_by_role("textbox", name="Modification", exact=True).fill("make it blue")
    page.get_by_role("textbox", name="Modification", exact=True).press("Enter")
    page.get_by_text("weighted sum", exact=True).first.wait_for()

    goto(page, app_url, "Condition")
    page.get_by_role("textbox", name="Condition", exact=True).fill("color")
    page.get_by_role("textbox", name="Condition", exact=True).press("Enter")
    page.get_by_text("Condition: focus on color").wait_for()

    goto(page, app_url, "Label")
    page.get_by_role("textbox", name="Annotator", exact=True).fill("e2e")
    page.get_by_role("textbox", name="Annotator", exact=True).press("Enter")
    page.get_by_text("0 / ").first.wait_for()
    for n, grade in enumerate(("3", "0", "2", "1", "2"), start=1):
        page.get_by_role("button", name=f"{grade} · ").first.click()
        page.get_by_text(f"{n} / ").first.wait_for()  # judged and shown before the next click
    with page.expect_download() as download:
        page.get_by_role("button", name="qrels", exact=True).click()
    lines = Path(download.value.path()).read_text().splitlines()
    assert len(lines) == 5 and all(len(line.split()) == 4 and line.split()[1] == "0" for line in lines)
    assert sorted(int(line.split()[3]) for line in lines) == [0, 1, 2, 2, 3]
