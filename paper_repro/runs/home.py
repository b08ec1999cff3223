"""Where the project's files go: one project folder, with runs/, data/ and figures/ under it, for the
command line and the chapters alike. The package's own folder is never written to.

The project folder is ``$PAPER_REPRO_HOME`` when it is set; else the checkout of this project that
the working folder lies in (the notebooks run with their working folder in book/, and still find the
checkout's runs/, data/ and figures/); else the working folder itself (a package installed from a
wheel, used from any folder).
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "PAPER_REPRO_HOME"


def is_checkout(folder: Path) -> bool:
    """A checkout of this project: its book (book/_toc.yml), its package and its pyproject.toml."""
    return (
        (folder / "book" / "_toc.yml").is_file()
        and (folder / "paper_repro").is_dir()
        and (folder / "pyproject.toml").is_file()
    )


def home() -> Path:
    """The project folder (see the module's docstring), an absolute path."""
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser().resolve()
    cwd = Path.cwd().resolve()
    return next((f for f in (cwd, *cwd.parents) if is_checkout(f)), cwd)


def default(name: str) -> str:
    """``name`` (runs, data, figures) under the project folder: as given when that is the working
    folder (so that messages stay short), else the absolute path."""
    h = home()
    return name if h == Path.cwd().resolve() else str(h / name)
