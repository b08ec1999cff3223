"""The book's rows and tables: a report row (a paper number beside this project's, with where it
was measured), the rows each chapter leaves for the report page, and Markdown tables."""

from __future__ import annotations

from pathlib import Path

from paper_repro.book.figures import FIGURES
from paper_repro.runs.store import atomic_write_json


def report_path(chapter: str, profile: str) -> Path:
    """Where a chapter leaves its report rows: figures/<profile>/report-<chapter>.json."""
    return FIGURES / profile / f"report-{chapter}.json"


WHERE = ("profile", "dataset", "iterations", "seeds", "commit", "hardware")  # where a number was measured


def report_row(
    quantity: str, paper: float | None, measured: float | None, unit: str, source: str, where: dict, note: str = ""
) -> dict:
    """One line of the book's report page (chapter 6): a paper number beside this project's.

    ``source`` cites the paper (e.g. "Table 6"); ``measured`` is None where the profile did not
    run that experiment; ``where`` says where it was measured: the keys of :data:`WHERE`.
    """
    diff = None if (paper is None or measured is None) else measured - paper
    seeds = where["seeds"]
    return {
        "quantity": quantity,
        "paper": paper,
        "measured": measured,
        "difference": diff,
        "unit": unit,
        "source": source,
        **{k: where[k] for k in WHERE},
        "seeds": list(seeds) if isinstance(seeds, (list, tuple)) else seeds,
        "note": note,
    }


def write_report_rows(chapter: str, profile: str, rows: list[dict]) -> Path:
    """Each chapter leaves its rows in figures/<profile>/report-<chapter>.json for the report."""
    path = report_path(chapter, profile)
    atomic_write_json(path, {"chapter": chapter, "profile": profile, "rows": rows})
    return path


def markdown_table(rows: list[dict], columns: list[tuple[str, str]], digits: int = 2) -> str:
    """A Markdown table; ``columns`` is [(key, header)]; floats get ``digits`` decimals; a "|" inside a cell
    (|γ|) is escaped so that it cannot split the cell."""

    def cell(text: str) -> str:
        return text.replace("\\|", "|").replace("|", "\\|")

    def fmt(v):
        if v is None:
            return "–"
        if isinstance(v, bool):  # never a raw True/False on a page
            return "yes" if v else "no"
        if isinstance(v, float):
            return f"{v:.{digits}f}"
        return cell(str(v))

    head = "| " + " | ".join(cell(h) for _, h in columns) + " |"
    sep = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(fmt(r.get(k)) for k, _ in columns) + " |" for r in rows]
    return "\n".join([head, sep, *body])


def save_rows(chapter: str, profile, rows: list[dict]) -> Path:
    """A chapter's report rows under its profile (``profile``: a Profile or its name)."""
    return write_report_rows(chapter, getattr(profile, "name", profile), rows)
