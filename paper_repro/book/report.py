"""The report page: gather the rows every chapter wrote from its runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

from paper_repro.book import evidence, findings, gpu, scale_map, speed
from paper_repro.book.tables import markdown_table, report_path
from paper_repro.classification.config import PROFILES
from paper_repro.experiments.chapters import REPORTED, TITLES
from paper_repro.paper.claims import CLAIMS, paper_difference, signed
from paper_repro.runs.records import read as read_records

SCALE_MAP = "scale-map"  # the block that says where each effect appeared (chapter 7 shows it)
PROFILES_BLOCK = "profiles"  # the appendix's block that lists the profiles, read from the config
LONGEST = "longest"  # the README block that leads: every claim at its longest committed schedule
GPU_BLOCK = "gpu"  # the appendix's block of the GPU measurements (figures/gpu-evidence/)
SWITCHES_BLOCK = "switches"  # the appendix's block of the speed switches (figures/bench/switches-*.json)
LONG_RUNS_BLOCK = "long-runs"  # the appendix's block of the scale map's long runs' training times
SHARED_BLOCKS = (
    LONGEST,
    SCALE_MAP,
    PROFILES_BLOCK,
    GPU_BLOCK,
    SWITCHES_BLOCK,
    LONG_RUNS_BLOCK,
)  # generated blocks of no one profile
USING = "book/08_using.md"  # the book's appendix page: it holds the generated blocks the README does not


def collect_rows(profile: str) -> list[dict]:
    rows = []
    for chapter in REPORTED:
        path = report_path(chapter, profile)
        if path.exists():
            rows.extend(json.loads(path.read_text())["rows"])
    return rows


def measured_text(r: dict) -> str:
    """A row's measured value as a reader should see it: mean ± std (n) where seeds repeat, the sign
    shown for differences, the unit after it."""
    m = r.get("measured")
    if m is None:
        return "–"
    unit = r.get("unit") or ""
    diff = unit in ("points", "std") or unit.startswith("ratio")
    digits = 3 if unit == "std" else 2
    text = signed(m, digits) if diff else f"{m:.2f}"
    if r.get("std") is not None:
        text += f" ± {r['std']:.2f}"
    text += {"%": "%", "points": " pt", "std": ""}.get(unit, f" {unit}")
    if r.get("low") is not None and r.get("high") is not None:
        text += f" [{signed(r['low'], digits)}, {signed(r['high'], digits)}]"
    if r.get("n"):
        text += f" (n={r['n']})"
    return text


def paper_text(r: dict) -> str:
    p = r.get("paper")
    if p is None:
        return "–"
    return f"{p:.2f}" + ("%" if r.get("unit") == "%" else " pt" if r.get("unit") == "points" else "")


def report_markdown(rows: list[dict]) -> str:
    """The report as a reader sees it: quantity, paper, measured and verdict in a table that fits
    the page, and every row's provenance in a collapsible table below it."""
    shown = [
        {
            "quantity": f"{r['quantity']} ({r['source']})",
            "paper": paper_text(r),
            "measured": measured_text(r),
            "verdict": r.get("verdict") or "–",
        }
        for r in rows
    ]
    main = markdown_table(
        shown,
        [
            ("quantity", "quantity (paper source)"),
            ("paper", "paper"),
            ("measured", "measured (95% interval, n seeds)"),
            ("verdict", "verdict"),
        ],
    )
    prov = [
        {
            "quantity": r["quantity"],
            "profile": r["profile"],
            "dataset": r["dataset"],
            "iterations": r["iterations"],
            "seeds": ", ".join(map(str, r["seeds"])) if isinstance(r.get("seeds"), list) else r.get("seeds"),
            "commit": r["commit"],
            "hardware": r["hardware"],
        }
        for r in rows
    ]
    detail = markdown_table(
        prov,
        [
            ("quantity", "quantity"),
            ("profile", "profile"),
            ("dataset", "data"),
            ("iterations", "iterations"),
            ("seeds", "seeds"),
            ("commit", "commit"),
            ("hardware", "hardware"),
        ],
    )
    return (
        f"{main}\n\n<details>\n<summary>Provenance of every row (profile, data, iterations, seeds, commit, "
        f"hardware)</summary>\n\n{detail}\n\n</details>\n"
    )


def scoreboard_rows(profile: str, records: list[dict] | None = None) -> list[dict]:
    """Each claim of :data:`claims.CLAIMS` with its verdict on ``profile``, read from the report rows
    the chapters wrote from the run store ("not run in this build" where no chapter measured it),
    its verdict at the longest committed schedule of the scale map (``records``; default: the
    committed file), and the paper's own difference where the paper prints both numbers."""

    records = read_records() if records is None else records
    by_claim = {r["claim"]: r for r in collect_rows(profile) if r.get("claim")}
    out = []
    for c in CLAIMS:
        r = by_claim.get(c.key)
        p = paper_difference(c)
        j = evidence.judge_longest(c.key, records)
        out.append(
            {
                "claim": c.title,
                "key": c.key,
                "paper": f"{c.statement} ({c.source})" + (f"; a − b = {p[0]:+.2f} pt ({p[1]})" if p else ""),
                "chapter": c.chapter,
                "measured": measured_text(r) if r else "–",
                "verdict": r["verdict"] if r else "not run in this build",
                "build": f"**{r['verdict']}**: {measured_text(r)}" if r else "not run in this build",
                "longest": evidence.longest_cell(j),
                "judged_longest": j,
            }
        )
    return out


def scoreboard_markdown(profile: str, records: list[dict] | None = None) -> str:
    """The intro's scoreboard: claim, the paper's statement (and number), the verdict at the longest
    committed schedule (the strongest evidence, so it comes first), this build's verdict, chapter;
    under it, the provenance of each schedule."""

    rows = [
        {**r, "chapter": f"{{doc}}`{TITLES.get(r['chapter'], r['chapter'])} <{r['chapter']}>`"}
        for r in scoreboard_rows(profile, records)
    ]
    table = markdown_table(
        rows,
        [
            ("claim", "claim"),
            ("paper", "the paper"),
            ("longest", "longest committed schedule (scale map)"),
            ("build", f"this build (profile `{profile}`)"),
            ("chapter", "chapter"),
        ],
    )
    note = evidence.schedules_note([r["judged_longest"] for r in rows])
    records = read_records() if records is None else records
    pending, full = evidence.paper_length_claims(records), evidence.at_paper_schedule(records)
    return (
        table
        + (
            "\n\nThe longest committed schedules (3 seeds per net, the `cpu` profile's recipe with only the "
            f"iterations changed):\n\n{note}"
            if note
            else "\n\nNo claim has 3 seeds per net in the committed scale map yet."
        )
        + (
            f"\n\n**At the paper's full length** ({full.iterations} iterations, {{doc}}`chapter 3 <03_depth>`). "
            f"{pending}\n\nMeasured with {full.label()}."
            if pending
            else ""
        )
    )


def missing_chapters(profile: str) -> list[str]:
    return [c for c in REPORTED if not report_path(c, profile).exists()]


README_COLUMNS = [
    ("quantity", "quantity"),
    ("source", "paper source"),
    ("paper", "paper"),
    ("measured", "measured"),
    ("verdict", "verdict"),
    ("iterations", "iterations"),
    ("seeds", "seeds"),
]


def _start(name: str, file: str = "README.md") -> str:
    # the blocks that do not belong to one profile are generated with any profile's command
    profile = "cpu" if name in SHARED_BLOCKS else name
    command = f"python -m paper_repro report --profile {profile} --readme {file}"
    return f"<!-- report-{name}-start: generated by `{command}` -->"


def _end(name: str) -> str:
    return f"<!-- report-{name}-end -->"


def _start_marker(name: str) -> re.Pattern:
    """A block's start line, whatever command it names (the file it lives in may differ)."""
    return re.compile(rf"<!-- report-{re.escape(name)}-start(?::[^\n]*?)? -->")


def block_markdown(name: str) -> str:
    """What stands in a generated block ``name``: a profile's report rows, or one of :data:`SHARED_BLOCKS`."""
    if name == SCALE_MAP:
        return scale_map.readme_markdown()
    if name == LONGEST:
        return evidence.readme_markdown()
    if name == PROFILES_BLOCK:
        return findings.profiles_markdown()
    if name == GPU_BLOCK:
        return gpu.readme_markdown()
    if name == SWITCHES_BLOCK:
        return speed.switches_markdown()
    if name == LONG_RUNS_BLOCK:
        return scale_map.long_runs_markdown()
    return summary_markdown(name)


def summary_markdown(profile: str) -> str:
    """The report rows of ``profile`` as a Markdown table, with one provenance line under it
    (data sets, commits and hardware, as the rows record them)."""
    rows = [
        {
            **r,
            "measured": measured_text(r),
            "paper": paper_text(r),
            "verdict": r.get("verdict") or "–",
            "seeds": ", ".join(map(str, r["seeds"])) if isinstance(r.get("seeds"), list) else r.get("seeds"),
        }
        for r in collect_rows(profile)
        if r.get("measured") is not None
    ]
    if not rows:
        return f"No measured rows for profile {profile}: run `make book PROFILE={profile}` first."
    seen = lambda key: ", ".join(sorted({str(r[key]) for r in rows if r.get(key) not in (None, "-")}))
    return (
        markdown_table(rows, README_COLUMNS) + "\n\n"
        f"Profile `{profile}`; data: {seen('dataset')}; commit {seen('commit')}; hardware: {seen('hardware')}. "
        f"Generated from `figures/{profile}/report-*.json`; the book's report page has every column."
    )


def _split(path: Path, name: str) -> tuple[str, str, str, str]:
    """``path``'s text as (before the block, its start line, the block, after it), markers excluded.
    Raise ValueError (one line) when the block's markers are missing."""
    text = path.read_text()
    found = _start_marker(name).search(text)
    if found is None or _end(name) not in text[found.end() :]:
        raise ValueError(f"{path}: no report block {name!r} (a line {_start(name)} and a line {_end(name)})")
    block, tail = text[found.end() :].split(_end(name), 1)
    return text[: found.start()], found.group(0), block, tail


def block_names(path) -> list[str]:
    """The generated blocks ``path`` holds, in the order they stand in it: a profile's report rows
    (``report-cpu``, ``report-full``, ...) and the blocks of :data:`SHARED_BLOCKS`."""
    text = Path(path).read_text()
    names = []
    for name in (*PROFILES, *SHARED_BLOCKS):
        found = _start_marker(name).search(text)
        if found and _end(name) in text[found.end() :]:
            names.append((found.start(), name))
    return [name for _, name in sorted(names)]


def update_readme(path, profile: str) -> bool:
    """Regenerate every generated block ``path`` holds (:func:`block_names`; each is a pure function
    of committed files, so a block of another profile changes only where its files did); return
    whether anything changed. Raise ValueError (one line) when the file holds none. ``profile``
    names the command in the message only: whichever blocks the file has are rewritten."""
    path = Path(path)
    names = block_names(path)
    if not names:
        shared = ", ".join(f"report-{n}" for n in SHARED_BLOCKS)
        raise ValueError(
            f"{path}: no generated block to update (report-{profile}, {shared}); add a pair of lines "
            f"{_start(profile)} and {_end(profile)}"
        )
    changed = False
    for name in names:
        head, start, block, tail = _split(path, name)
        if name == LONGEST:
            evidence.save_longest_figures()  # the figures the block shows, from the same records
        new_block = f"\n{block_markdown(name)}\n"
        if new_block != block:
            path.write_text(f"{head}{start}{new_block}{_end(name)}{tail}")
            changed = True
    return changed


def readme_block(path, name: str) -> str:
    """What stands between block ``name``'s markers in ``path`` now (for the tests that it is current)."""
    return _split(Path(path), name)[2].strip("\n")
