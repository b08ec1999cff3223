"""The built book, loaded in a real headless Chromium (Debian's chromium + chromium-driver).

Collected only when ``--book-html DIR`` is given (``make test`` does, after building the book):
every page in the table of contents loads, every image on it has loaded (naturalWidth > 0),
the chapters' tables are rendered as tables (not as raw Markdown pipes), and no page shows a
Python traceback or a notebook error.
"""
import functools
import http.server
import re
import shutil
import threading
from pathlib import Path

import pytest

PAGES = ["index.html", "intro.html", "01_residual.html", "02_degradation.html", "03_depth.html", "04_responses.html",
         "05_detection.html", "06_report.html"]


@pytest.fixture(scope="module")
def site(request):
    root = Path(request.config.getoption("--book-html")).resolve()
    assert (root / "index.html").exists(), f"no built book in {root}"
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    assert chromium and driver_path, "Debian's chromium and chromium-driver must be installed (make browser)"
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,2000"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_with_its_images_and_no_traceback(site, browser, page):
    root, base = site
    assert (root / page).exists(), f"{page} was not built"
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{base}/{page}")
    # index.html redirects to the first chapter: wait until the page that is shown has loaded
    WebDriverWait(browser, 30).until(lambda d: d.execute_script("return document.readyState") == "complete"
                                     and d.execute_script("return document.body !== null"))
    title = browser.title
    assert title and "404" not in title
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.src, i.complete && i.naturalWidth > 0])")
    broken = [src for src, ok in images if not ok]
    assert not broken, f"images that did not load on {page}: {broken}"
    text = browser.execute_script("return document.body.innerText")
    assert "Traceback (most recent call last)" not in text
    assert not re.search(r"\b(ValueError|RuntimeError|KeyError|NameError|TypeError)\b: ", text), f"an error shows on {page}"
    if page in ("02_degradation.html", "03_depth.html", "04_responses.html", "05_detection.html"):
        assert images, f"{page} shows no figure"
    # every chapter prints at least one table; a Markdown table left unparsed shows its |---| row
    assert not re.search(r"\|\s*(-{3,}|—)\s*\|", text), f"a Markdown table on {page} was not rendered"
    if page[:2] in ("01", "02", "03", "04", "05", "06"):
        n = browser.execute_script("return Array.from(document.querySelectorAll('main table, article table')).length")
        assert n >= 1, f"{page} shows no table"
