"""Serve MathJax from the built book itself, so that no page needs the network.

MathJax 2 comes from the ``jupyter-server-mathjax`` package (the copy Jupyter itself serves) and
is copied into ``_static/mathjax`` of the HTML build.
"""
import shutil
from pathlib import Path


def _copy(app, exc):
    if exc is not None or app.builder.format != "html":
        return
    import jupyter_server_mathjax

    src = Path(jupyter_server_mathjax.__file__).parent / "static"
    dst = Path(app.outdir) / "_static" / "mathjax"
    if not (dst / "MathJax.js").exists():
        shutil.copytree(src, dst, dirs_exist_ok=True)


def setup(app):
    # relative to _static; the -full config bundles the TeX input and HTML-CSS output
    app.config.mathjax_path = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
