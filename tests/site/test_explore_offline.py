"""The built book's explorable figures (paper_repro.book.explore), in headless Chromium with the
network off: every page that holds one draws it from the book's own files (plotly.min.js in
``_static/``, copied from the plotly package), and choosing another schedule length redraws it.

Collected with the site check (``--book-html``). The pages are opened from ``file://`` with the
browser's network emulated offline (Chrome DevTools ``Network.emulateNetworkConditions``), and every
request the browser made is read back from its performance log: none may leave the built book.
A screenshot of each figure goes to ``_build/screenshots/explore-<id>.png`` for a person to look at.
"""

import json
import re
from pathlib import Path

import chromium
import pytest

from paper_repro.book.offline_plotly import HOLDS_FIGURE, MARK, PLOTLY_JS

SCALE_MAP_PAGE = "07_scale_map.html"  # the scale map and Fig. 7 (chapter 2 adds Fig. 6)
MAX_PAGE_BYTES = 3_000_000  # a page carries its figures' data, never plotly.js itself (about 4.6 MB)


@pytest.fixture(scope="module")
def root(request):
    root = Path(request.config.getoption("--book-html")).resolve()
    assert (root / "index.html").exists(), f"no built book in {root}"
    return root


@pytest.fixture(scope="module")
def offline_browser():
    # a whole figure in view below the page's header, for its screenshot
    driver = chromium.start("1280,1400", capabilities={"goog:loggingPrefs": {"performance": "ALL"}})
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    yield driver
    driver.quit()


def explorable_pages(root: Path) -> list[str]:
    return sorted(p.name for p in root.glob("*.html") if HOLDS_FIGURE in p.read_text(encoding="utf-8"))


def open_offline(driver, path: Path) -> list[str]:
    """Open ``path`` from disk with the network off, wait until every explorable figure is drawn;
    return every URL the browser requested."""
    from selenium.webdriver.support.ui import WebDriverWait  # noqa: PLC0415 - optional: the [test] extra

    driver.get_log("performance")  # drop what an earlier page requested
    driver.get(path.as_uri())
    WebDriverWait(driver, 60).until(
        lambda d: d.execute_script(
            "const f = document.querySelectorAll('." + MARK + " .js-plotly-plot');"
            "return f.length > 0 && Array.from(f).every(g => g.querySelector('.main-svg .trace'));"
        )
    )
    urls = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    return urls


def test_the_scale_map_page_holds_explorable_figures_and_plotly_js_is_built_from_its_package(root):
    assert SCALE_MAP_PAGE in explorable_pages(root)
    from paper_repro.book.offline_plotly import plotly_source  # noqa: PLC0415 - the installed plotly

    built = root / "_static" / PLOTLY_JS
    assert built.exists() and built.read_bytes() == plotly_source().read_bytes()


@pytest.mark.parametrize("page", ["index.html", SCALE_MAP_PAGE])
def test_only_pages_with_a_figure_load_plotly_js_and_none_embeds_it_or_a_cdn(root, page):
    html = (root / page).read_text(encoding="utf-8")
    # Sphinx adds "?v=<checksum>" where the file was in _static already (a rebuild)
    loads = re.findall(r'<script[^>]+src="([^"?]*plotly[^"?]*)(?:\?v=\w+)?"', html)
    assert loads == ([f"_static/{PLOTLY_JS}"] if HOLDS_FIGURE in html else []), f"{page} loads {loads}"
    assert not re.findall(r'<script[^>]+src="(?:https?:)?//', html), f"{page}: a script from the network"
    assert "plotly.js v" not in html, f"{page} embeds plotly.js itself"
    assert (root / page).stat().st_size < MAX_PAGE_BYTES


def test_every_explorable_figure_draws_offline_and_another_length_redraws_it(root, offline_browser):
    driver = offline_browser
    shots = root.parent / "screenshots"
    shots.mkdir(exist_ok=True)
    for page in explorable_pages(root):
        urls = open_offline(driver, root / page)
        outside = [u for u in urls if not u.startswith(("file:", "data:", "blob:", "about:"))]
        assert not outside, f"{page}: requests that leave the built book: {outside[:5]}"
        assert any(u.split("?")[0].endswith(f"_static/{PLOTLY_JS}") for u in urls), f"{page} did not load plotly.js"
        ids = driver.execute_script(IDS)
        if page == SCALE_MAP_PAGE:
            assert {"explore-scale-map", "explore-fig7"} <= set(ids)
        for fid in ids:
            el = driver.find_element("id", fid)
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", el)
            assert driver.execute_script(HOVER, fid) and _hover_text(driver, fid)
            el.screenshot(str(shots / f"{fid}.png"))  # with the hover label shown
            before = driver.execute_script(STATE, fid)
            options = driver.find_elements("css selector", f"#{fid} .updatemenu-header-group")
            assert options, f"{page} {fid}: no schedule-length menu"
            options[0].click()
            buttons = driver.find_elements("css selector", f"#{fid} .updatemenu-dropdown-button")
            labels = [b.text for b in buttons]
            assert len(buttons) >= 2, f"{page} {fid}: the menu offers {labels}"
            choice = next(b for b in buttons if b.text != before["menu"])
            choice.click()
            after = driver.execute_script(STATE, fid)
            assert after["menu"] != before["menu"] and after["title"] != before["title"], f"{page} {fid}: {after}"
            assert after["drawn"] != before["drawn"], f"{page} {fid}: the traces did not change"


def _hover_text(driver, fid: str) -> str:
    text = driver.execute_script(
        "return Array.from(document.querySelectorAll('#' + arguments[0] + ' .hovertext'))"
        ".map(h => h.textContent).join(' | ')",
        fid,
    )
    assert re.search(r"mean [\d.]+", text) and "min" in text and "max" in text, f"{fid}: hover shows {text!r}"
    return text


IDS = f"return Array.from(document.querySelectorAll('.{MARK} .js-plotly-plot')).map(g => g.id)"
# Runs in the page: the state a reader sees (the menu's label, the title, the data of the drawn traces).
STATE = r"""
const gd = document.getElementById(arguments[0]);
return {
  menu: gd.querySelector('.updatemenu-header-group text').textContent,
  title: gd.layout.title.text,
  drawn: JSON.stringify(gd._fullData.filter(t => t.visible === true)
                                    .map(t => [t.name, t.x.length, t.y[t.y.length - 1]])),
};
"""
# Hovers the first drawn trace that carries the seeds' min and max, at its last point.
HOVER = r"""
const gd = document.getElementById(arguments[0]);
const i = gd._fullData.findIndex(t => t.visible === true && t.customdata && t.customdata.length);
if (i < 0) return false;
const t = gd._fullData[i];
Plotly.Fx.hover(gd, [{curveNumber: i, pointNumber: t.x.length - 1}], t.xaxis + t.yaxis);
return true;
"""
