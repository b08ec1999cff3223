"""The scale map: where each claim of §4 appears as the schedule grows, on the hardware measured.

A short schedule is not the paper's: deeper nets need longer before they overtake shallower ones,
so a 300-iteration book can show a claim "not shown" or even "reversed" without contradicting the
paper. The scale map makes that visible. ``python -m paper_repro scale-map`` trains each (net,
seed, schedule length) through the run store, with a profile's recipe and only the number of
iterations changed (the lr milestones scale with it), and appends one record per point to
``figures/scale-map/records.jsonl``, skipping the points already there. The file is committed, so
the map grows over time and on faster hardware: a GPU adds longer schedules with the same command.

The book draws, for every error claim, the difference of the means ± its 95% Welch interval against
the schedule length, with the paper's direction marked, and states in numbers where each effect
appeared, or that it had not appeared by the longest schedule measured.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from paper_repro.book.tables import markdown_table
from paper_repro.classification.config import RunConfig
from paper_repro.paper import claims, published
from paper_repro.runs import records as rec
from paper_repro.runs.records import RECORDS, latest, mean_std_of, net_name, net_order

# the claims the map follows: those decided by the final errors of its four nets (records.NETS)
MAP_CLAIMS = ("degradation", "resnet_fixes_train", "resnet_fixes_test", "deeper_resnet_train", "deeper_resnet_56")
# ... and those decided by the records' Fig. 7 statistics (records written since commit da6cf36)
RESPONSE_CLAIMS = ("responses_plain20", "responses_plain56", "responses_depth")
DEPTH_TEST_CLAIMS = ("deeper_resnet_56", "deeper_resnet_110")  # depth on test error: saturates on Fashion-MNIST


def claim_points(records: list[dict], keys=MAP_CLAIMS, precision: str | None = None) -> dict[str, list[dict]]:
    """Per claim and schedule length (on one data set), the verdict of :func:`records.judge` over
    the seeds (the latest record of each seed in one precision, default the map's own; only records
    that carry the claim's quantity)."""
    out = {}
    for key in keys:
        c = claims.BY_KEY[key]
        points = []
        for (n, dataset), nets in sorted(rec.groups(records, rec.needs(c.quantity), precision).items()):
            if c.a in nets and c.b in nets:
                p = {"iterations": n, "dataset": dataset, **rec.judge(c, nets[c.a] + nets[c.b])}
                if min(p["n_a"], p["n_b"]) < claims.MIN_SEEDS:  # no verdict: what each seed says so far
                    b = {r["seed"]: rec.value(r, c.quantity) for r in nets[c.b]}
                    p["seed_diffs"] = sorted(
                        [r["seed"], rec.value(r, c.quantity) - b[r["seed"]]] for r in nets[c.a] if r["seed"] in b
                    )
                points.append(p)
        out[key] = points
    return out


def saturation_sentence(key: str) -> str:
    """Why a depth claim on test error may not appear on Fashion-MNIST: the published depth table
    (numbers from paper_repro.paper.published)."""

    c = claims.BY_KEY[key]
    re, rerun = published.RANDOM_ERASING, published.RANDOM_ERASING_RERUN
    a, b = re.get(c.a), re.get(c.b)
    nums = ", ".join(f"{net_name(n.net)} {n.text()}%" for n in (b, a) if n is not None)
    r20 = rerun.get("resnet20")
    return (
        f" The likely reason is the data: the published Fashion-MNIST depth table ({re.cite()}, 300 epochs, "
        f"{re.statistic}) gives {nums}"
        + (f", and {rerun.cite()} reruns ResNet-20 at {r20.text()}%" if r20 else "")
        + ": on this data depth beyond 20 layers does not lower the test error even at full length."
    )


def seeds_so_far(c: claims.Claim, p: dict, sep: str = " ") -> str:
    """How many seeds a point without a verdict has: "1 of 3 seeds", or each net's count where the
    two differ ("ResNet-56 1, ResNet-20 2 of 3 seeds"); ``sep`` between the parts (a table cell: ``<br>``)."""
    if p["n_a"] == p["n_b"]:
        return f"{p['n_a']} of {claims.MIN_SEEDS}{sep}seeds"
    return f"{net_name(c.a)} {p['n_a']},{sep}{net_name(c.b)} {p['n_b']}{sep}of {claims.MIN_SEEDS} seeds"


def seed_by_seed(c: claims.Claim, p: dict, sep: str = " ") -> str:
    """A point without a verdict, seed by seed: the difference a − b on each seed both nets have so far
    ("; the difference on each: -0.53, -0.61 points, seeds 0, 1"), or in a table cell one line per
    seed ("<br>seed 0: -0.53<br>seed 1: -0.61", with ``sep`` ``<br>``); "" where they share no seed."""
    diffs = p.get("seed_diffs") or []
    if not diffs:
        return ""
    unit, scale, digits = claims.units(c.quantity)
    if sep == "<br>":
        return "".join(f"<br>seed {s}: {claims.signed(scale * d, digits)}" for s, d in diffs)
    values = ", ".join(claims.signed(scale * d, digits) for _, d in diffs)
    seeds = _seeds_text({"seeds": [s for s, _ in diffs]})
    return f"; the difference on {'each' if len(diffs) > 1 else 'it'}: {values}{' points' if unit else ''}, {seeds}"


def summary_sentences(points: dict[str, list[dict]]) -> list[str]:
    """Where each claim first held, and what the longest schedule measured with enough seeds says,
    in numbers (longer schedules with fewer seeds so far are named as still being measured)."""
    out = []
    for key, all_pts in points.items():
        if not all_pts:
            continue
        c = claims.BY_KEY[key]
        pts = [p for p in all_pts if min(p["n_a"], p["n_b"]) >= claims.MIN_SEEDS]
        if not pts:
            out.append(
                f"**{c.title}**: not yet measured with {claims.MIN_SEEDS} seeds per net (so far: "
                + ", ".join(f"{p['iterations']} iterations, n = {min(p['n_a'], p['n_b'])}" for p in all_pts)
                + ")."
            )
            continue
        unit, scale, digits = claims.units(c.quantity)
        held = [p for p in pts if p["label"] == claims.HOLDS]
        last = pts[-1]
        lengths = ", ".join(str(p["iterations"]) for p in pts)
        text = f"**{c.title}** (measured at {lengths} iterations): "
        if held:
            text += f"holds from {held[0]['iterations']} iterations on"
            if any(p["label"] != claims.HOLDS for p in pts if p["iterations"] > held[0]["iterations"]):
                text += " (not at every longer length)"
        elif last["label"] == claims.REVERSED:
            text += (
                f"has not appeared by {last['iterations']} iterations, where the difference goes the other "
                "way beyond its uncertainty"
            )
        else:
            text += f"has not appeared by {last['iterations']} iterations"
        interval = (
            "no interval"
            if last["low"] is None
            else f"95% interval {claims.signed(scale * last['low'], digits)} to "
            f"{claims.signed(scale * last['high'], digits)}"
        )
        diff = claims.signed(scale * last["diff"], digits) + (f" {unit}" if unit else " (response std)")
        text += f"; at {last['iterations']}: {diff}, {interval}, n = {min(last['n_a'], last['n_b'])}: {last['label']}."
        pending = [p for p in all_pts if p["iterations"] > last["iterations"]]
        if pending:
            text += (
                " Still being measured: "
                + ", ".join(f"{p['iterations']} iterations ({seeds_so_far(c, p)}{seed_by_seed(c, p)})" for p in pending)
                + "."
            )
        if key in DEPTH_TEST_CLAIMS and not held and last["dataset"] == "fashion-mnist":
            text += saturation_sentence(key)
        out.append(text)
    return out


def verdict_rows(points: dict[str, list[dict]]) -> tuple[list[dict], list[tuple[str, str]]]:
    """The scale map as a table: one row per claim, one column per schedule length measured (on
    the first data set), each cell the verdict, the difference and its 95% interval's two ends on four lines
    (joined by ``<br>``, which MyST, JupyterLab and GitHub render), or how many seeds there are so far.
    Returns (rows, columns) for ``tables.markdown_table``."""
    lengths = sorted({p["iterations"] for pts in points.values() for p in pts})
    rows = []
    for key, pts in points.items():
        if not pts:
            continue
        c = claims.BY_KEY[key]
        row = {"claim": f"{c.title} ({c.source}): {net_name(c.a)} − {net_name(c.b)}"}
        for p in pts:
            if min(p["n_a"], p["n_b"]) < claims.MIN_SEEDS:
                row[str(p["iterations"])] = f"*{seeds_so_far(c, p, '<br>')}*" + seed_by_seed(c, p, "<br>")
                continue
            verdict = "not shown" if p["label"] == claims.NOT_SHOWN else p["label"]
            # one line each for the verdict, the difference and each end of its interval: a column
            # per length stays narrow enough for the page up to the paper's 64000 (8 lengths)
            diff, interval = claims.difference_text(p).split(" ", 1)
            lines = [f"**{verdict}**", diff, *interval.replace(", ", ",\n").splitlines()]
            row[str(p["iterations"])] = "<br>".join(lines)
        rows.append(row)
    columns = [("claim", "claim (paper): a − b")] + [(str(n), f"{n} it.") for n in lengths]
    return rows, columns


def net_rows(records: list[dict], quantity: str = "final_eval_error") -> tuple[list[dict], list[tuple[str, str]]]:
    """Each net's final error (``quantity``, in %) at each schedule length in the records: one row
    per net and data set (plain nets first, by depth), one column per length, each cell the mean ±
    std over the seeds and their number (the latest record of each seed). Returns (rows, columns)
    for ``tables.markdown_table``: the absolute numbers behind the claims' differences."""
    by = defaultdict(lambda: defaultdict(list))  # (dataset, net) -> iterations -> [error %]
    for r in latest(records):
        by[(r["dataset"], r["net"])][r["iterations"]].append(100 * r[quantity])
    lengths = sorted({n for per in by.values() for n in per})
    several = len({d for d, _ in by}) > 1
    rows = []
    for dataset, net in sorted(by, key=lambda key: (key[0], *net_order(key[1]))):
        row = {"net": f"{net_name(net)} ({dataset})" if several else net_name(net)}
        for n, errs in by[(dataset, net)].items():
            row[str(n)] = mean_std_of(errs).replace(" ± ", "<br>± ") + f"<br>(n={len(errs)})"
        rows.append(row)
    return rows, [("net", "net")] + [(str(n), f"{n} it.") for n in lengths]


def readme_markdown(path: Path = RECORDS) -> str:
    """The README's scale-map block: where each claim appeared, in numbers, with the provenance."""
    records = rec.read(path)
    if not records:
        return "No scale-map points yet: `python -m paper_repro scale-map` measures them."
    points = claim_points(records, MAP_CLAIMS + RESPONSE_CLAIMS)
    rows, columns = verdict_rows(points)
    lines = "\n".join(f"- {s}" for s in summary_sentences(points))
    return (
        f"{markdown_table(rows, columns)}\n\nEach cell: the verdict, a − b and its 95% Welch interval (errors in "
        "percentage points, responses in std units), or how many seeds are measured so far.\n\n"
        f"{lines}\n\nMeasured with {rec.label(rec.provenance(records))}. Generated from "
        "`figures/scale-map/records.jsonl`; the book's last chapter draws it."
    )


# --------------------------------------------------------------------------- the long runs' time
LONG_RUNS = 9600  # the schedules the appendix times: from here on a point takes hours on 2 CPU cores


def long_runs_markdown(path: Path = RECORDS, at_least: int = LONG_RUNS) -> str:
    """The appendix's block: how long each of the map's runs of ``at_least`` iterations or more took
    to train, as its record says (``wall_time_s``: the training clock, which stops while the test set
    is evaluated and adds up over resumed sittings), with images per second, precision, hardware and
    commit; or one sentence where there is none."""
    batch = RunConfig.batch_size
    runs = sorted(
        (r for r in rec.read(path) if r["iterations"] >= at_least and r.get("wall_time_s")),
        key=lambda r: (r["iterations"], net_order(r["net"]), r["seed"], r["commit"]),
    )
    if not runs:
        return f"No scale-map run of {at_least} iterations or more yet."
    rows = [
        {
            "net": net_name(r["net"]),
            "seed": r["seed"],
            "iterations": r["iterations"],
            "hours": f"{r['wall_time_s'] / 3600:.2f}",
            "speed": f"{r['iterations'] * batch / r['wall_time_s']:.0f}",
            "precision": r.get("precision") or "?",
            "hardware": r["hardware"],
            "commit": r["commit"],
        }
        for r in runs
    ]
    columns = [
        ("net", "net"),
        ("seed", "seed"),
        ("iterations", "iterations"),
        ("hours", "training time (h)"),
        ("speed", "images/s"),
        ("precision", "precision"),
        ("hardware", "hardware"),
        ("commit", "commit"),
    ]
    return (
        markdown_table(rows, columns) + f"\n\nThe training clock of each record (`wall_time_s`), batch {batch}: it "
        "stops while the test set is evaluated, and adds up over the sittings a run was resumed in. The 2 cores "
        "were shared with other work during some runs, so a slow row can be a busy machine rather than a slow "
        "net. Generated from `figures/scale-map/records.jsonl`."
    )


# --------------------------------------------------------------------------- the precision control
PRECISION_CLAIMS = ("deeper_resnet_train", "deeper_resnet_56")  # ResNet-56 − ResNet-20, training and test error


def precision_rows(records: list[dict], keys=PRECISION_CLAIMS) -> tuple[list[dict], list[tuple[str, str]]]:
    """The control: each depth claim at every length measured in another precision than the map's
    own, its verdict and difference in each precision side by side, and how much the difference
    changes between them (map − control, with its 95% interval: :func:`claims.interaction`). Returns
    (rows, columns) for ``tables.markdown_table``; no rows while no control is measured. Each row also
    keeps the judged points (``_map``, ``_control``) and the change (``_change``, None until both
    precisions have 3 seeds per net)."""
    main = rec.main_precision(records)
    others = sorted({r.get("precision") for r in records} - {main}, key=str)
    ours = claim_points(records, keys, main)
    rows = []
    for other in others:
        theirs = claim_points(records, keys, other)
        for key in keys:
            for p in theirs[key]:
                same = [q for q in ours[key] if (q["iterations"], q["dataset"]) == (p["iterations"], p["dataset"])]
                change = claims.interaction(same[0], p) if same else None
                _, scale, digits = claims.units(p["quantity"])
                paired = _on_the_same_seeds(records, key, p, main, other) if change is None and same else None
                rows.append(
                    {
                        "claim": f"{claims.BY_KEY[key].title}: {net_name(p['a'])} − {net_name(p['b'])}",
                        "iterations": p["iterations"],
                        main: _cell(same[0]) if same else "not measured",
                        "control": f"{other}: "
                        + (_paired_text(claims.BY_KEY[key], p, paired, main, other) if paired else _cell(p)),
                        "change": "—"
                        if change is None
                        else _interval_text(change, scale, digits)
                        + (": **beyond seed noise**" if change["beyond_noise"] else ": within seed noise"),
                        "_title": claims.BY_KEY[key].title,
                        "_map": same[0] if same else None,
                        "_control": p,
                        "_change": change,
                        "_precisions": (main, other),
                        "_paired": paired,
                    }
                )
    columns = [("claim", "claim: a − b"), ("iterations", "iterations"), (main, f"{main} (the map)")]
    return rows, columns + [("control", "control"), ("change", "map − control [95% interval]")]


def _on_the_same_seeds(records: list[dict], key: str, p: dict, main: str, other: str) -> dict | None:
    """A control point that has fewer seeds than a verdict needs, seed-matched: the claim's difference
    (``records.judge``) in each precision over only the seeds that both precisions have of both nets,
    {"seeds", main: judged, other: judged}. None where there is no such seed."""
    c = claims.BY_KEY[key]
    at = (p["iterations"], p["dataset"])
    per = {x: rec.groups(records, rec.needs(c.quantity), x).get(at, {}) for x in (main, other)}
    seeds = set.intersection(*({r["seed"] for r in g.get(net, [])} for g in per.values() for net in (c.a, c.b)))
    if not seeds:
        return None
    judged = {
        x: rec.judge(c, [r for net in (c.a, c.b) for r in g.get(net, []) if r["seed"] in seeds]) for x, g in per.items()
    }
    return {"seeds": sorted(seeds), **judged}


def _cell(p: dict) -> str:
    n = min(p["n_a"], p["n_b"])
    if n < claims.MIN_SEEDS:
        return f"{n} of {claims.MIN_SEEDS} seeds: {claims.difference_text(p, ' pt')}"
    verdict = "not shown" if p["label"] == claims.NOT_SHOWN else p["label"]
    return f"**{verdict}** {claims.difference_text(p, ' pt')} (n={n})"


def _bracket(j: dict, scale: float, digits: int) -> str:
    return f"[{claims.signed(scale * j['low'], digits)}, {claims.signed(scale * j['high'], digits)}]"


def _interval_text(j: dict, scale: float, digits: int) -> str:
    return f"{claims.signed(scale * j['diff'], digits)} pt {_bracket(j, scale, digits)}"


def _label(p: dict) -> str:
    return "not shown" if p["label"] == claims.NOT_SHOWN else p["label"]


def precision_sentence(records: list[dict], keys=PRECISION_CLAIMS) -> str:
    """Whether the arithmetic's precision changes the depth results, from the control's records: by
    the project's one rule, only where the change of a claim's difference between the precisions is
    beyond seed noise (its 95% interval excludes 0). Verdict labels that differ between the precisions
    while that change is within noise are named, with their intervals. Or how far the control has got."""
    rows, _ = precision_rows(records, keys)
    main = rec.main_precision(records)
    done = [r for r in rows if r["_change"] is not None]
    partial = _partial_sentence([r for r in rows if r["_paired"]])
    if not done:
        n = sum(r.get("precision") != main for r in records)
        return (
            f"The precision control is being measured ({n} run{'s' * (n != 1)} in another precision than the "
            f"map's {main} so far, {claims.MIN_SEEDS} seeds of each net needed): "
            "`python -m paper_repro scale-map --nets resnet20 resnet56 --iterations 2400 --precision fp32`."
        ) + partial
    other = done[0]["_precisions"][1]
    _, scale, digits = claims.units(done[0]["_control"]["quantity"])
    changes = "; ".join(
        f"{r['_title']} ({r['iterations']} iterations) {_interval_text(r['_change'], scale, digits)}" for r in done
    )
    changed = [r for r in done if r["_change"]["beyond_noise"]]
    if changed:
        return (
            f"The precision changes the depth results beyond seed noise. Each claim's difference in {main} minus "
            f"the same in {other}: {changes}. "
            + ", ".join(r["_title"] for r in changed)
            + f": beyond seed noise. The depth verdicts at the paper's length are then to be measured in {other}."
        ) + partial
    widest = max(r["_change"]["high"] - r["_change"]["diff"] for r in done)
    text = (
        f"The precision does not change the depth results beyond seed noise. Each claim's difference in {main} "
        f"minus the same in {other}: {changes}; each interval contains 0. The runs at the paper's length "
        f"therefore keep {main}. The control is small: with {claims.MIN_SEEDS} seeds per net, a change of up to "
        f"about {scale * widest:.{digits - 1}f} points either way would go unseen."
    )
    for r in (r for r in done if r["_map"]["label"] != r["_control"]["label"]):
        m, c = r["_map"], r["_control"]
        side = lambda j: "contains 0" if j["low"] <= 0 <= j["high"] else "excludes 0"
        text += (
            f" One verdict differs: {r['_title']} reads **{_label(m)}** in {main}, whose interval "
            f"{_bracket(m, scale, digits)} {side(m)}, and **{_label(c)}** in {other}, whose "
            f"interval {_bracket(c, scale, digits)} {side(c)}; the two differences, "
            f"{claims.signed(scale * m['diff'], digits)} and {claims.signed(scale * c['diff'], digits)} points, "
            "are within seed noise of each other."
        )
    return text + partial


def _paired_text(c: claims.Claim, p: dict, paired: dict, main: str, other: str) -> str:
    """A control cell without a verdict: how many seeds it has, and the difference in each precision on
    the seeds both have (a mean over unequal sets of seeds would mix seed noise into the comparison)."""
    both = ", ".join(f"{x} {claims.difference_text(paired[x], ' pt')}" for x in (other, main))
    return f"{seeds_so_far(c, p)}; on the same {_seeds_text(paired)}: {both}"


def _seeds_text(paired: dict) -> str:
    return f"seed{'s' * (len(paired['seeds']) > 1)} " + ", ".join(map(str, paired["seeds"]))


def _partial_sentence(rows: list[dict]) -> str:
    """Where the control has fewer seeds than a verdict needs: its differences beside the map's on
    the same seeds, no verdict."""
    if not rows:
        return ""
    main, other = rows[0]["_precisions"]
    parts = []
    for r in rows:
        m = r["_paired"]
        _, scale, digits = claims.units(m[other]["quantity"])
        parts.append(
            f"{r['_title']} at {r['iterations']} iterations, {_seeds_text(m)}: "
            f"{claims.signed(scale * m[other]['diff'], digits)} points in {other}, "
            f"{claims.signed(scale * m[main]['diff'], digits)} in {main}"
        )
    return (
        f" Still being measured, with fewer than {claims.MIN_SEEDS} seeds per net and so no verdict yet, the "
        f"differences on the same seeds: " + "; ".join(parts) + "."
    )
