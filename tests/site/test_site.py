"""The built book, loaded in a real headless Chromium (Debian's chromium + chromium-driver), checked
the way a reader would look at it.

Collected only when ``--book-html DIR`` is given (``make test`` does, after building the book). For
every page: it loads, its images load, every formula is typeset by MathJax (no raw ``\\(``, ``\\[``,
``$$`` or ``\\begin`` left, no MathJax error), no output block holds a traceback, a warning, stderr
or an absolute path, no table or figure is wider than the content column (and no figure is shrunk
so far that its labels become illegible), papermill's parameters cells are not visible, and the
prose holds no raw Python value (None / True / False). Each failure names the page and the
element. A full-page screenshot of every page goes to ``_build/screenshots/`` for a person to look at.
"""

import functools
import http.server
import re
import threading
from pathlib import Path

import chromium
import pytest

PAGES = [
    "intro.html",
    "01_residual.html",
    "02_degradation.html",
    "03_depth.html",
    "04_responses.html",
    "05_detection.html",
    "06_report.html",
    "07_scale_map.html",
    "08_using.html",
]
FIGURE_PAGES = {"02_degradation.html", "03_depth.html", "04_responses.html", "05_detection.html", "07_scale_map.html"}
MATH_PAGES = {"intro.html", "01_residual.html"}
ABSOLUTE_PATH = re.compile(r"(?<![\w.])/(?:home|work|tmp|usr|root|opt|var|private|Users)/[\w.\-/]+")
MIN_FIGURE_SCALE = 0.6  # a figure drawn below 60% of its pixel width has labels too small to read


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
    driver = chromium.start("1280,1000", "--disable-quic")
    yield driver
    driver.quit()


def load(browser, base: str, page: str):
    """Open ``page`` and wait until it and MathJax (when the page loads it) are done."""
    from selenium.webdriver.support.ui import WebDriverWait  # noqa: PLC0415 - optional: the [test] extra, needed by this test only

    browser.get(f"{base}/{page}")
    WebDriverWait(browser, 30).until(
        lambda d: (
            d.execute_script("return document.readyState") == "complete"
            and d.execute_script("return document.body !== null")
        )
    )
    browser.execute_script("""
        window.__mathDone = typeof MathJax === 'undefined' || !MathJax.Hub;
        if (!window.__mathDone) MathJax.Hub.Queue(function () { window.__mathDone = true; });""")
    WebDriverWait(browser, 60).until(lambda d: d.execute_script("return window.__mathDone === true"))


@pytest.fixture(scope="module")
def pages(site, browser):
    """Each page loaded once: what the checks need, read in the browser, and a screenshot."""
    root, base = site
    shots = root.parent / "screenshots"
    shots.mkdir(exist_ok=True)
    seen = {}
    for page in PAGES:
        assert (root / page).exists(), f"{page} was not built"
        load(browser, base, page)
        seen[page] = browser.execute_script(INSPECT, MIN_FIGURE_SCALE)
        seen[page]["title"] = browser.title
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(1280, min(max(height, 1000), 16000))
        browser.save_screenshot(str(shots / page.replace(".html", ".png")))
        browser.set_window_size(1280, 1000)
    return seen


# Runs in the page: everything the checks below look at, named so that a failure can say where.
INSPECT = r"""
const minScale = arguments[0];
const article = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
// the content column: the article less its padding (a table wider than it scrolls in its container)
const column = article.clientWidth - parseFloat(getComputedStyle(article).paddingLeft) -
  parseFloat(getComputedStyle(article).paddingRight);
// shown to a reader: laid out, not inside a closed <details> (Jupyter Book's hide-cell toggles)
const visible = el => !el.closest('details:not([open])') &&
  (el.checkVisibility ? el.checkVisibility({contentVisibilityAuto: true, opacityProperty: true, visibilityProperty: true})
                      : !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length));
const name = el => {
  const sec = el.closest('section');
  const h = sec && sec.querySelector('h1, h2, h3');
  return `${el.tagName.toLowerCase()}${el.className ? '.' + String(el.className).split(' ')[0] : ''}` +
         ` in "${h ? h.textContent.replace('#', '').trim() : 'page'}"`;
};
// the prose a reader sees: visible text outside code and outputs printed as code
const clone = article.cloneNode(true);
clone.querySelectorAll('pre, code, script, style, .MathJax_Preview, .cell_input, .toggle-details').forEach(e => e.remove());
// every output, shown or behind a "show" toggle: a reader who opens it must not meet machinery either
const outputs = Array.from(article.querySelectorAll('.cell_output'));
return {
  text: document.body.innerText,
  prose: (function () { document.body.appendChild(clone); clone.style.position = 'absolute';
                        const t = clone.innerText; clone.remove(); return t; })(),
  images: Array.from(document.images).map(i => [i.src, i.complete && i.naturalWidth > 0]),
  figures: Array.from(article.querySelectorAll('img, .js-plotly-plot')).filter(visible).map(i => ({
      name: name(i) + ' ' + (i.src || i.id || 'plotly').split('/').pop(), width: i.getBoundingClientRect().width,
      natural: i.naturalWidth || 0})),
  tables: Array.from(article.querySelectorAll('table')).filter(visible).map(t => ({
      name: name(t) + ' (' + Array.from(t.querySelectorAll('th')).map(h => h.innerText.trim()).slice(0, 3).join(' | ') + ' ...)',
      width: t.getBoundingClientRect().width, scroll: t.scrollWidth})),
  column: column,
  math_sources: article.querySelectorAll('span.math.notranslate, div.math.notranslate').length,
  math_typeset: article.querySelectorAll('.MathJax, .MathJax_Display, mjx-container, .katex').length,
  math_errors: Array.from(document.querySelectorAll('.MathJax_Error, merror, .merror, mjx-merror')).map(e => e.textContent),
  math_raw_in_math: Array.from(article.querySelectorAll('span.math.notranslate, div.math.notranslate')).filter(
      e => !e.querySelector('.MathJax, .MathJax_Display, mjx-container, .katex, script[type^="math/tex"]')).map(e => e.textContent.slice(0, 60)),
  overflowing: Array.from(article.querySelectorAll('pre')).filter(visible).filter(p => p.scrollWidth > p.clientWidth + 1)
      .map(p => name(p) + ': ' + p.innerText.split('\n').sort((a, b) => b.length - a.length)[0].slice(0, 80)),
  outputs: outputs.map(o => ({name: name(o), text: o.textContent,
                              stderr: o.querySelectorAll('.stderr, .output.stderr').length})),
  parameters: Array.from(article.querySelectorAll('.tag_injected-parameters .cell_input, .tag_parameters .cell_input, .tag_injected-parameters .cell_output'))
      .filter(visible).map(e => name(e) + ': ' + e.innerText.slice(0, 60)),
  code: Array.from(article.querySelectorAll('.cell:not(.tag_parameters):not(.tag_injected-parameters) .cell_input'))
      .filter(visible).map(e => e.innerText),
};
"""


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_with_its_images_and_no_traceback(pages, page):
    p = pages[page]
    assert p["title"] and "404" not in p["title"]
    broken = [src for src, ok in p["images"] if not ok]
    assert not broken, f"{page}: images that did not load: {broken}"
    assert "Traceback (most recent call last)" not in p["text"], f"{page}: a traceback shows"
    m = re.search(r"\b(ValueError|RuntimeError|KeyError|NameError|TypeError|AttributeError)\b: .{0,60}", p["text"])
    assert not m, f"{page}: an error shows: {m.group(0)!r}"
    if page in FIGURE_PAGES:
        assert p["figures"], f"{page} shows no figure"
    # a Markdown table left unparsed shows its |---| row
    assert not re.search(r"\|\s*(-{3,}|—)\s*\|", p["text"]), f"{page}: a Markdown table was not rendered"
    if page not in ("intro.html", "07_scale_map.html"):
        assert p["tables"], f"{page} shows no table"


@pytest.mark.parametrize("page", PAGES)
def test_every_formula_is_typeset(pages, page):
    p = pages[page]
    raw = re.findall(r"\\\(|\\\[|\$\$|\\begin\{", p["prose"])
    assert not raw, f"{page}: raw LaTeX in the page text: {raw[:5]}"
    assert not p["math_errors"], f"{page}: MathJax errors: {p['math_errors'][:3]}"
    assert not p["math_raw_in_math"], f"{page}: formulas MathJax did not typeset: {p['math_raw_in_math'][:3]}"
    if page in MATH_PAGES:
        assert p["math_sources"] > 0 and p["math_typeset"] >= p["math_sources"], (
            f"{page}: {p['math_sources']} formulas, {p['math_typeset']} typeset"
        )


@pytest.mark.parametrize("page", PAGES)
def test_outputs_hold_no_stderr_warning_or_absolute_path(pages, page):
    for out in pages[page]["outputs"]:
        assert not out["stderr"], f"{page}: stderr output in {out['name']}: {out['text'][:120]!r}"
        m = re.search(r"\w*Warning\b.{0,80}|\bwarn\(.{0,40}", out["text"])
        assert not m, f"{page}: a warning in {out['name']}: {m.group(0)!r}"
        m = ABSOLUTE_PATH.search(out["text"])
        assert not m, f"{page}: an absolute path in {out['name']}: {m.group(0)!r}"


@pytest.mark.parametrize("page", PAGES)
def test_tables_figures_and_text_fit_the_column(pages, page):
    p = pages[page]
    column = p["column"]
    for t in p["tables"]:
        assert max(t["width"], t["scroll"]) <= column + 1, (
            f"{page}: table {t['name']} is {max(t['width'], t['scroll']):.0f} px wide in a {column:.0f} px column"
        )
    assert not p["overflowing"], f"{page}: lines run off the page in {p['overflowing'][:3]}"
    for f in p["figures"]:
        assert f["width"] <= column + 1, (
            f"{page}: figure {f['name']} is {f['width']:.0f} px in a {column:.0f} px column"
        )
        if f["natural"] > 0 and "logo" not in f["name"]:
            scale = f["width"] / f["natural"]
            assert scale >= MIN_FIGURE_SCALE, (
                f"{page}: figure {f['name']} is drawn at {scale:.0%} of its size: its labels are too small to read"
            )


@pytest.mark.parametrize("page", PAGES)
def test_machinery_is_hidden_and_prose_holds_no_python_values(pages, page):
    p = pages[page]
    assert not p["parameters"], f"{page}: a parameters cell is visible: {p['parameters']}"
    m = re.search(r".{0,40}\b(None|True|False)\b.{0,40}", p["prose"])
    assert not m, f"{page}: a raw Python value in the prose: {m.group(0)!r}"


PLUMBING = re.compile(r"\b(provenance\w*|save_rows|save_figure|show_figure|write_report_rows|save_\w+_figure)\b")
CODE_PAGES = ("02_degradation.html", "03_depth.html", "04_responses.html", "05_detection.html", "07_scale_map.html")


@pytest.mark.parametrize("page", CODE_PAGES)
def test_a_chapter_shows_the_code_that_runs_it_and_no_plumbing(pages, page):
    """The Annotated Transformer's way: the paper's sentence, the code that runs it, its output. At
    least 3 code cells a reader sees on the page (the parameters and the collapsed set-up aside), and
    none of them calls provenance, row-saving or figure-file helpers."""
    code = pages[page]["code"]
    assert len(code) >= 3, f"{page}: {len(code)} visible code cells: {code}"
    for c in code:
        m = PLUMBING.search(c)
        assert not m, f"{page}: a visible cell calls {m.group(0)}: {c[:120]!r}"
