"""Draw the book's explorable figures with no network: plotly.js served from the built book itself.

``plotly.min.js`` comes from the installed ``plotly`` package (PyPI; the copy plotly's own offline
output embeds), which is copied into ``_static/`` of the HTML build: one file of about 4.6 MB that
the browser caches, instead of one copy inside every page that shows a figure. Only the pages that
hold an explorable figure (``explore.DIV_CLASS``) load it, in their ``<head>``, so that it is
defined before the inline script of each figure runs.
"""

import shutil
from pathlib import Path

PLOTLY_JS = "plotly.min.js"  # relative to _static
MARK = "explorable-figure"  # explore.DIV_CLASS (not imported: this module is loaded by Sphinx, without plotly's weight)
HOLDS_FIGURE = f'<div class="{MARK}">'  # a page holds a figure (not merely a heading "Explorable figures")


def plotly_source() -> Path:
    import plotly  # noqa: PLC0415 - optional: the [notebooks] extra

    return Path(plotly.__file__).parent / "package_data" / PLOTLY_JS


def _page(app, pagename, templatename, context, doctree):
    if doctree is not None and HOLDS_FIGURE in context.get("body", ""):
        app.add_js_file(PLOTLY_JS, priority=100)  # before Sphinx's own scripts, as a blocking <script src>


def _copy(app, exc):
    if exc is not None or app.builder.format != "html":
        return
    dst = Path(app.outdir) / "_static" / PLOTLY_JS
    src = plotly_source()
    if not dst.exists() or dst.stat().st_size != src.stat().st_size:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)


def setup(app):
    app.connect("html-page-context", _page)
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
