"""Saving a figure with the data behind it and where it came from.

``figures/<profile>/<name>.png`` for the book and the README, and ``<name>.json`` beside it with
the plotted numbers and their provenance (profile, dataset, iterations, seeds, commit, hardware).
"""
from __future__ import annotations

from pathlib import Path

from .provenance import ROOT
from .store import atomic_write_json

FIGURES = ROOT / "figures"


def save_figure(fig, name: str, profile: str, data, provenance: dict) -> Path:
    """Write the PNG and its JSON; return the PNG's path."""
    folder = FIGURES / profile
    folder.mkdir(parents=True, exist_ok=True)
    png = folder / f"{name}.png"
    fig.savefig(png, dpi=110, bbox_inches="tight")
    atomic_write_json(folder / f"{name}.json", {"figure": name, "profile": profile, "provenance": provenance, "data": data})
    return png


def report_row(quantity: str, paper: float | None, measured: float | None, unit: str, source: str, profile: str,
               dataset: str, iterations: int | str, seeds, commit: str, hardware: str, note: str = "") -> dict:
    """One line of the book's report page (chapter 6): a paper number beside this project's.

    ``source`` cites the paper (e.g. "Table 6"); ``measured`` is None where the profile did not
    run that experiment.
    """
    diff = None if (paper is None or measured is None) else measured - paper
    return {"quantity": quantity, "paper": paper, "measured": measured, "difference": diff, "unit": unit,
            "source": source, "profile": profile, "dataset": dataset, "iterations": iterations,
            "seeds": list(seeds) if isinstance(seeds, (list, tuple)) else seeds, "commit": commit,
            "hardware": hardware, "note": note}


def write_report_rows(chapter: str, profile: str, rows: list[dict]) -> Path:
    """Each chapter leaves its rows in figures/<profile>/report-<chapter>.json for the report."""
    path = FIGURES / profile / f"report-{chapter}.json"
    atomic_write_json(path, {"chapter": chapter, "profile": profile, "rows": rows})
    return path
