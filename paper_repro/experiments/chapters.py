"""The book's chapters, named once: each notebook's id (its file in book/), the title the
scoreboard links it by, and which task's runs it reads. ``reproduce`` executes them in this order,
``plan`` and ``sweep`` take their runs from the chapters that train, the report page collects
the rows those chapters leave, and book/_toc.yml lists the same ids (a test checks it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chapter:
    id: str  # the notebook's file stem in book/: 02_degradation
    title: str  # as the intro's scoreboard links it
    task: str | None = None  # the task whose runs it trains and reads: classification | detection

    @property
    def report(self) -> str:
        """The key of the rows it leaves for the report page (figures/<profile>/report-<key>.json)."""
        return self.id.split("_", 1)[1]


CHAPTERS = (
    Chapter("01_residual", "1. Residual learning"),
    Chapter("02_degradation", "2. Degradation", "classification"),
    Chapter("03_depth", "3. Depth", "classification"),
    Chapter("04_responses", "4. Layer responses", "classification"),
    Chapter("05_detection", "5. Detection", "detection"),
    Chapter("06_report", "6. Report"),
    Chapter("07_scale_map", "7. Scale map"),
)
IDS = tuple(c.id for c in CHAPTERS)
NOTEBOOKS = (*IDS, "intro")  # the intro's scoreboard reads what the chapters measured: executed last
APPENDIX = ("08_using",)  # Markdown pages after the chapters (book/<id>.md): rendered, never executed
TITLES = {c.id: c.title for c in CHAPTERS}
WITH_RUNS = tuple(c.id for c in CHAPTERS if c.task)  # the chapters whose runs the plan lists
REPORTED = tuple(c.report for c in CHAPTERS if c.task)  # the chapters that leave report rows


def of_task(task: str) -> tuple[str, ...]:
    """The ids of the chapters that train ``task``'s runs."""
    return tuple(c.id for c in CHAPTERS if c.task == task)
