"""The report page: gather the rows every chapter wrote from its runs."""
from __future__ import annotations

import json

from .figures import FIGURES

CHAPTER_ROWS = ("degradation", "depth", "responses", "detection")


def collect_rows(profile: str) -> list[dict]:
    rows = []
    for chapter in CHAPTER_ROWS:
        path = FIGURES / profile / f"report-{chapter}.json"
        if path.exists():
            rows.extend(json.loads(path.read_text())["rows"])
    return rows


def missing_chapters(profile: str) -> list[str]:
    return [c for c in CHAPTER_ROWS if not (FIGURES / profile / f"report-{c}.json").exists()]
