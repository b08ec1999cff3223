"""Saving a figure with the data behind it and where it came from.

``figures/<profile>/<name>.png`` for the book and the README, and ``<name>.json`` beside it with
the plotted numbers and their provenance (profile, dataset, iterations, seeds, commit, hardware).
"""

from __future__ import annotations

from pathlib import Path

from paper_repro.runs.home import home
from paper_repro.runs.store import atomic_write_json

FIGURES = home() / "figures"  # the project folder's (paper_repro.runs.home)


def save_figure(fig, name: str, profile: str, data, provenance: dict) -> Path:
    """Write the PNG and its JSON; return the PNG's path."""
    folder = FIGURES / profile
    folder.mkdir(parents=True, exist_ok=True)
    png = folder / f"{name}.png"
    fig.savefig(png, dpi=110, bbox_inches="tight")
    atomic_write_json(
        folder / f"{name}.json", {"figure": name, "profile": profile, "provenance": provenance, "data": data}
    )
    return png


def show_figure(fig, name: str, folder: str, data, provenance: dict) -> Path:
    """The one way a chapter shows a figure: save the PNG and its JSON (data and provenance) with
    :func:`save_figure` under ``figures/<folder>/``, display the PNG, return its path."""
    from IPython.display import Image, display  # noqa: PLC0415 - optional: only inside a notebook kernel

    png = save_figure(fig, name, folder, data, provenance)
    display(Image(filename=str(png)))
    return png
