"""Typeset the book's formulas with no network: MathJax 2.7 served from the built book itself.

MathJax comes from the ``jupyter-server-mathjax`` package (PyPI; the copy Jupyter itself serves),
which is copied into ``_static/mathjax`` of the HTML build. That package ships the STIX-Web fonts
only, so MathJax is configured exactly as classic Jupyter configures it for that copy: HTML-CSS
output with ``webFont: "STIX-Web"`` and no other font. (MathJax's default asks for the TeX fonts,
gets a 404 for ``fonts/TeX/fontdata.js`` and typesets nothing.)

Sphinx 7 and myst-parser write a MathJax-3 configuration (``window.MathJax = {...}``) by default;
MathJax 2 reads ``MathJax.Hub.Config`` instead. Both are replaced here, so the page carries one
configuration, for the version it loads.
"""

import shutil
from pathlib import Path

# MathJax 2's configuration (the "text/x-mathjax-config" block Sphinx writes for mathjax2_config).
MATHJAX2_CONFIG = {
    # Sphinx and myst write inline math as \( ... \) and display math as \[ ... \]
    "tex2jax": {
        "inlineMath": [["\\(", "\\)"]],
        "displayMath": [["\\[", "\\]"]],
        "processEscapes": True,
        "processEnvironments": True,
    },
    "TeX": {"equationNumbers": {"autoNumber": "none"}},
    "HTML-CSS": {
        "availableFonts": [],
        "preferredFont": None,
        "webFont": "STIX-Web",
        "imageFont": None,
        "linebreaks": {"automatic": True},
    },
    "SVG": {"font": "STIX-Web"},
    "messageStyle": "none",
}
MATHJAX_PATH = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"  # relative to _static


def mathjax_source() -> Path:
    import jupyter_server_mathjax  # noqa: PLC0415 - optional: the [book] extra

    return Path(jupyter_server_mathjax.__file__).parent / "static"


def _configure(app, config):
    config.mathjax_path = MATHJAX_PATH
    config.mathjax2_config = MATHJAX2_CONFIG
    config.mathjax3_config = None
    # myst-parser would add a MathJax-3 block (options.processHtmlClass) beside ours
    if "myst_update_mathjax" in config:
        config.myst_update_mathjax = False


def _copy(app, exc):
    if exc is not None or app.builder.format != "html":
        return
    dst = Path(app.outdir) / "_static" / "mathjax"
    if not (dst / "MathJax.js").exists():
        shutil.copytree(mathjax_source(), dst, dirs_exist_ok=True)


def setup(app):
    app.connect("config-inited", _configure, priority=900)  # after myst registers its values
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
