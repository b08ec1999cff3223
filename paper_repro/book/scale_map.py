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

import statistics
from collections import defaultdict
from pathlib import Path

import torch

from paper_repro.book.figures import FIGURES
from paper_repro.book.tables import markdown_table
from paper_repro.classification.config import get_profile
from paper_repro.classification.data import build_data
from paper_repro.classification.train import fit, load_model, resolve_speed
from paper_repro.models.measure import bn_gammas, layer_responses
from paper_repro.paper import claims, published
from paper_repro.runs.provenance import git_commit
from paper_repro.runs.store import append_jsonl, read_jsonl

RECORDS = FIGURES / "scale-map" / "records.jsonl"
NETS = ("plain20", "plain56", "resnet20", "resnet56")
# the claims the map follows: those decided by the final errors of the four nets above
MAP_CLAIMS = ("degradation", "resnet_fixes_train", "resnet_fixes_test", "deeper_resnet_train", "deeper_resnet_56")
# ... and those decided by the records' Fig. 7 statistics (records written since commit da6cf36)
RESPONSE_CLAIMS = ("responses_plain20", "responses_plain56", "responses_depth")
DEPTH_TEST_CLAIMS = ("deeper_resnet_56", "deeper_resnet_110")  # depth on test error: saturates on Fashion-MNIST


def net_name(net: str) -> str:
    """A record's net as the pages write it: "resnet56" -> "ResNet-56", "plain20" -> "plain-20"."""
    return net.replace("resnet", "ResNet-").replace("plain", "plain-")


def net_order(net: str) -> tuple[bool, int]:
    """The pages' order of nets: plain nets before ResNets, each by depth."""
    return net.startswith("resnet"), int("".join(c for c in net if c.isdigit()) or 0)


def read_records(path: Path = RECORDS) -> list[dict]:
    """The records of ``path``; a damaged line is reported in one line and skipped (``store.read_jsonl``)."""

    if not Path(path).exists():
        return []
    return read_jsonl(path)


def latest(records: list[dict]) -> list[dict]:
    """One record per (data set, iterations, net, seed): the last one written (a point measured
    again is a new record; no seed counts twice)."""
    out = {}
    for r in records:
        out[(r["dataset"], r["iterations"], r["net"], r["seed"])] = r
    return list(out.values())


def needs(quantity: str) -> tuple[str, ...]:
    """What a record must carry to give ``quantity``."""
    return ("fig7",) if quantity == "response" else ()


def value(r: dict, quantity: str) -> float:
    """A record's quantity: a final error, or (``response``) the mean over its 3x3 layers of each
    layer's response std, as chapter 4 defines it."""
    if quantity == "response":
        return sum(r["fig7"]["response_std"]) / len(r["fig7"]["response_std"])
    return r[quantity]


def point_configs(profile: str, nets, lengths, seeds, **changes) -> list:
    """The RunConfigs of every point: the profile's recipe, ``iterations`` = each length, and the
    fields in ``changes`` (``precision``; ``eval_subset`` and ``eval_interval``, which only decide the
    curves) set as given."""
    p = get_profile(profile)
    points = [(n, net, seed) for n in lengths for net in nets for seed in seeds]
    return [p.run_config(net, "cifar", seed=seed, iterations=n, **changes) for n, net, seed in points]


def curves(result) -> dict:
    """The run's curves from its metrics: at every evaluation interval, the iteration, the lr, the
    training error (mean over the interval's augmented batches) and the test error (on the
    ``eval_images`` the curves are drawn on; the final error is on ``final_eval_images``)."""
    rows = result.metrics
    return {
        "eval_images": result.summary["eval_images"],
        "iteration": [r["iteration"] for r in rows],
        "lr": [r["lr"] for r in rows],
        "train_error": [r["train_error"] for r in rows],
        "eval_error": [r["eval_error"] for r in rows],
    }


def fig7_statistics(result, n_images: int, data_root: str = "data") -> dict:
    """The final net's Fig. 7 statistics: every 3x3 layer's response std (after BN, before ReLU or
    the addition) on ``n_images`` test images, and the mean |gamma| of the BN it follows, in
    forward order."""

    speed = resolve_speed(result.config)
    data = build_data(result.config, speed, data_root)
    model = load_model(result, speed.device)
    if speed.channels_last:
        model = model.to(memory_format=torch.channels_last)
    std = layer_responses(model, data.eval, speed.device, max_images=n_images)
    gamma = bn_gammas(model)
    return {
        "images": min(n_images, data.eval_size),
        "layers": list(std),
        "response_std": list(std.values()),
        "bn_gamma": [gamma[k] for k in std],
    }


def record(result, fig7: dict | None = None) -> dict:
    """One point of the map: what the run measured, its curves, the final net's Fig. 7 statistics
    (when given) and where it ran."""
    s, c = result.summary, result.config
    out = {
        "net": c.model,
        "seed": c.seed,
        "iterations": c.iterations,
        "dataset": c.dataset,
        "final_train_error": s["final_train_error"],
        "final_eval_error": s["final_eval_error"],
        "final_eval_images": s.get("final_eval_images", s["eval_images"]),
        "train_images": s["train_images"],
        "config_hash": c.hash(),
        "wall_time_s": s["wall_time_s"],
        "commit": s["commit"],
        "hardware": s["hardware"],
        "torch": s.get("torch"),
        "precision": s["precision"],
    }
    if result.metrics:
        out["curves"] = curves(result)
    if fig7 is not None:
        out["fig7"] = fig7
    return out


class DirtyTree(ValueError):
    """A record would name a commit that does not hold the code that measured it."""


def check_committed(commit: str) -> None:
    """Refuse to measure a point for the committed map from uncommitted code: its record would say
    "<commit>+dirty", a tree nobody can check out again."""
    if commit.endswith("+dirty") or commit == "unknown":
        raise DirtyTree(
            f"the package has uncommitted changes (commit {commit}); a scale-map record must name the "
            "commit that measured it: commit first, or run from a clean worktree (git worktree add)"
        )


def extend(
    profile: str,
    nets=NETS,
    lengths=(300,),
    seeds=(0, 1, 2),
    folders: tuple = ("runs", "data"),
    path: Path = RECORDS,
    changes: dict | None = None,
) -> list[dict]:
    """Train (or read back) every point not yet in ``path`` and append its record, one line printed
    per point; return the new ones. ``folders``: the run store and the data folder; ``changes``:
    RunConfig fields set for every point (:func:`point_configs`). Refuses (:class:`DirtyTree`) to
    write to the committed map from uncommitted code."""
    out, data_root = folders

    if Path(path).resolve() == RECORDS.resolve():
        check_committed(git_commit())
    n_images = get_profile(profile).response_images
    have = {r["config_hash"] for r in read_records(path)}
    todo = [cfg for cfg in point_configs(profile, nets, lengths, seeds, **(changes or {})) if cfg.hash() not in have]
    path.parent.mkdir(parents=True, exist_ok=True)
    new = []
    for i, cfg in enumerate(todo, 1):
        r = fit(cfg, out=out, data_root=data_root)
        rec = record(r, fig7_statistics(r, n_images, data_root))
        how = "stored run" if r.cached else f"{rec['wall_time_s']:.0f} s"
        append_jsonl(path, rec)
        new.append(rec)
        print(
            f"scale-map [{i}/{len(todo)}] {cfg.model} seed {cfg.seed}, {cfg.iterations} iterations: training error "
            f"{100 * rec['final_train_error']:.2f}%, test error {100 * rec['final_eval_error']:.2f}% "
            f"({how})"
        )
    return new


def claim_points(records: list[dict], keys=MAP_CLAIMS) -> dict[str, list[dict]]:
    """Per claim and schedule length (on one data set), the verdict of :func:`claims.judge` over the
    seeds (the latest record of each seed; only records that carry the claim's quantity)."""
    out = {}
    for key in keys:
        c = claims.BY_KEY[key]
        by = defaultdict(lambda: defaultdict(list))  # (dataset, iterations) -> net -> [record]
        for r in latest(records):
            if all(k in r for k in needs(c.quantity)):
                by[(r["dataset"], r["iterations"])][r["net"]].append(r)
        points = []
        for (dataset, n), nets in sorted(by.items(), key=lambda kv: kv[0][1]):
            if c.a in nets and c.b in nets:
                j = claims.judge(
                    c, [value(r, c.quantity) for r in nets[c.a]], [value(r, c.quantity) for r in nets[c.b]]
                )
                points.append({"iterations": n, "dataset": dataset, **j})
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
                + ", ".join(
                    f"{p['iterations']} iterations ({min(p['n_a'], p['n_b'])} of {claims.MIN_SEEDS} seeds)"
                    for p in pending
                )
                + "."
            )
        if key in DEPTH_TEST_CLAIMS and not held and last["dataset"] == "fashion-mnist":
            text += saturation_sentence(key)
        out.append(text)
    return out


def verdict_rows(points: dict[str, list[dict]]) -> tuple[list[dict], list[tuple[str, str]]]:
    """The scale map as a table: one row per claim, one column per schedule length measured (on
    the first data set), each cell the verdict, the difference and its 95% interval on three lines
    (joined by ``<br>``, which MyST, JupyterLab and GitHub render), or how many seeds there are so far.
    Returns (rows, columns) for ``tables.markdown_table``."""
    lengths = sorted({p["iterations"] for pts in points.values() for p in pts})
    rows = []
    for key, pts in points.items():
        if not pts:
            continue
        c = claims.BY_KEY[key]
        row = {"claim": f"{c.title} ({c.source}): {c.a} − {c.b}"}
        for p in pts:
            n = min(p["n_a"], p["n_b"])
            if n < claims.MIN_SEEDS:
                row[str(p["iterations"])] = f"{n} of {claims.MIN_SEEDS} seeds"
                continue
            verdict = "not shown" if p["label"] == claims.NOT_SHOWN else p["label"]
            # one line each for the verdict, the difference and its interval: a column per length
            # stays narrow enough for the page however many lengths the records hold
            lines = [f"**{verdict}**", *claims.difference_text(p).split(" ", 1)]
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
            std = f"<br>± {statistics.stdev(errs):.2f}" if len(errs) > 1 else ""
            row[str(n)] = f"{statistics.fmean(errs):.2f}{std}<br>(n={len(errs)})"
        rows.append(row)
    return rows, [("net", "net")] + [(str(n), f"{n} it.") for n in lengths]


def records_provenance(records: list[dict]) -> dict:
    return {
        "points": len(records),
        "nets": sorted({r["net"] for r in records}),
        "iterations": sorted({r["iterations"] for r in records}),
        "seeds": sorted({r["seed"] for r in records}),
        "datasets": sorted({r["dataset"] for r in records}),
        "commits": sorted({r["commit"] for r in records}),
        "hardware": sorted({r["hardware"] for r in records}),
        "test_images": sorted({r["final_eval_images"] for r in records}),
    }


def records_label(prov: dict) -> str:
    return (
        f"scale map · {', '.join(prov['datasets'])} · final errors on {'/'.join(map(str, prov['test_images']))} "
        f"test images · {'/'.join(map(str, prov['iterations']))} iterations · seeds "
        f"{','.join(map(str, prov['seeds']))} · {prov['points']} runs · commit {', '.join(prov['commits'])} · "
        f"{'; '.join(prov['hardware'])}"
    )


def readme_markdown(path: Path = RECORDS) -> str:
    """The README's scale-map block: where each claim appeared, in numbers, with the provenance."""
    records = read_records(path)
    if not records:
        return "No scale-map points yet: `python -m paper_repro scale-map` measures them."
    points = claim_points(records, MAP_CLAIMS + RESPONSE_CLAIMS)
    rows, columns = verdict_rows(points)
    lines = "\n".join(f"- {s}" for s in summary_sentences(points))
    return (
        f"{markdown_table(rows, columns)}\n\nEach cell: the verdict, a − b and its 95% Welch interval (errors in "
        "percentage points, responses in std units), or how many seeds are measured so far.\n\n"
        f"{lines}\n\nMeasured with {records_label(records_provenance(records))}. Generated from "
        "`figures/scale-map/records.jsonl`; the book's last chapter draws it."
    )
