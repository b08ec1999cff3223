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

import json
from collections import defaultdict
from pathlib import Path

from . import claims
from .config import get_profile
from .figures import FIGURES

RECORDS = FIGURES / "scale-map" / "records.jsonl"
NETS = ("plain20", "plain56", "resnet20", "resnet56")
# the claims the map follows: those decided by the final errors of the four nets above
MAP_CLAIMS = ("degradation", "resnet_fixes_train", "resnet_fixes_test", "deeper_resnet_train", "deeper_resnet_56")


def read_records(path: Path = RECORDS) -> list[dict]:
    if not Path(path).exists():
        return []
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def plan(profile: str, nets, lengths, seeds) -> list:
    """The RunConfigs of every point: the profile's recipe, ``iterations`` = each length."""
    p = get_profile(profile)
    return [p.run_config(net, "cifar", seed=seed, iterations=n) for n in lengths for net in nets for seed in seeds]


def record(result) -> dict:
    """One point of the map: what the run measured and where it ran."""
    s, c = result.summary, result.config
    return {"net": c.model, "seed": c.seed, "iterations": c.iterations, "dataset": c.dataset,
            "final_train_error": s["final_train_error"], "final_eval_error": s["final_eval_error"],
            "final_eval_images": s.get("final_eval_images", s["eval_images"]), "train_images": s["train_images"],
            "config_hash": c.hash(), "wall_time_s": s["wall_time_s"], "commit": s["commit"],
            "hardware": s["hardware"], "torch": s.get("torch"), "precision": s["precision"]}


def extend(profile: str, nets=NETS, lengths=(300,), seeds=(0, 1, 2), out="runs", data_root="data",
           path: Path = RECORDS, log=print) -> list[dict]:
    """Train (or read back) every point not yet in ``path`` and append its record; return the new ones."""
    from .train import fit

    have = {r["config_hash"] for r in read_records(path)}
    todo = [cfg for cfg in plan(profile, nets, lengths, seeds) if cfg.hash() not in have]
    path.parent.mkdir(parents=True, exist_ok=True)
    new = []
    for i, cfg in enumerate(todo, 1):
        r = fit(cfg, out=out, data_root=data_root)
        rec = record(r)
        how = "stored run" if r.cached else f"{rec['wall_time_s']:.0f} s"
        with open(path, "a") as f:
            f.write(json.dumps(rec, sort_keys=True) + "\n")
        new.append(rec)
        log(f"scale-map [{i}/{len(todo)}] {cfg.model} seed {cfg.seed}, {cfg.iterations} iterations: training error "
            f"{100 * rec['final_train_error']:.2f}%, test error {100 * rec['final_eval_error']:.2f}% "
            f"({how})")
    return new


def claim_points(records: list[dict], keys=MAP_CLAIMS) -> dict[str, list[dict]]:
    """Per claim and schedule length (on one data set), the verdict of :func:`claims.judge` over the seeds."""
    by = defaultdict(lambda: defaultdict(list))  # (dataset, iterations) -> net -> [record]
    for r in records:
        by[(r["dataset"], r["iterations"])][r["net"]].append(r)
    out = {}
    for key in keys:
        c = claims.BY_KEY[key]
        points = []
        for (dataset, n), nets in sorted(by.items(), key=lambda kv: kv[0][1]):
            if c.a in nets and c.b in nets:
                j = claims.judge(c, [r[c.quantity] for r in nets[c.a]], [r[c.quantity] for r in nets[c.b]])
                points.append({"iterations": n, "dataset": dataset, **j})
        out[key] = points
    return out


def summary_sentences(points: dict[str, list[dict]]) -> list[str]:
    """Where each claim first held, and what the longest schedule measured says, in numbers."""
    out = []
    for key, pts in points.items():
        if not pts:
            continue
        c = claims.BY_KEY[key]
        held = [p for p in pts if p["label"] == claims.HOLDS]
        last = pts[-1]
        lengths = ", ".join(str(p["iterations"]) for p in pts)
        text = f"**{c.title}** (measured at {lengths} iterations): "
        if held:
            text += f"holds from {held[0]['iterations']} iterations on"
            if any(p["label"] != claims.HOLDS for p in pts if p["iterations"] > held[0]["iterations"]):
                text += " (not at every longer length)"
        else:
            text += f"has not appeared by {last['iterations']} iterations"
        interval = ("no interval" if last["low"] is None else
                    f"95% interval {100 * last['low']:+.2f} to {100 * last['high']:+.2f}")
        text += (f"; at {last['iterations']}: {100 * last['diff']:+.2f} points, {interval}, "
                 f"n = {min(last['n_a'], last['n_b'])}: {last['label']}.")
        out.append(text)
    return out


def figure(points: dict[str, list[dict]], label: str):
    """One panel per claim: the difference (points) ± its 95% interval against the schedule length,
    the paper's side of zero shaded."""
    from matplotlib.figure import Figure

    from .plots import footer

    keys = [k for k, pts in points.items() if pts]
    cols = min(3, max(1, len(keys)))
    rows = -(-len(keys) // cols) if keys else 1
    fig = Figure(figsize=(3.3 * cols, 2.7 * rows + 0.5))
    axes = fig.subplots(rows, cols, squeeze=False)
    colors = {claims.HOLDS: "#2ca02c", claims.REVERSED: "#d62728", claims.NOT_SHOWN: "#7f7f7f"}
    for ax in axes.flat[len(keys):]:
        ax.axis("off")
    for ax, key in zip(axes.flat, keys):
        c, pts = claims.BY_KEY[key], points[key]
        xs = [p["iterations"] for p in pts]
        ys = [100 * p["diff"] for p in pts]
        for x, y, p in zip(xs, ys, pts):
            color = colors.get(p["label"], "#bbbbbb")
            if p["low"] is not None:
                ax.errorbar([x], [y], yerr=[[y - 100 * p["low"]], [100 * p["high"] - y]], fmt="o", color=color,
                            capsize=3)
            else:
                ax.plot([x], [y], "o", mfc="none", color=color)
        ax.plot(xs, ys, "-", color="#999999", lw=0.8, zorder=0)
        ax.axhline(0, color="black", lw=0.8)
        lo, hi = ax.get_ylim()
        if c.direction > 0:
            ax.axhspan(0, max(hi, 1), color="#2ca02c", alpha=0.07)
        else:
            ax.axhspan(min(lo, -1), 0, color="#2ca02c", alpha=0.07)
        ax.set_ylim(lo, hi)
        ax.set_xscale("log")
        ax.set_xticks(sorted(set(xs)))
        ax.set_xticklabels([str(x) for x in sorted(set(xs))])
        ax.set_xticks([], minor=True)
        ax.set_title(f"{c.title}\n{c.a} − {c.b}, {c.quantity.replace('final_', '').replace('_', ' ')}", fontsize=8)
        ax.set_xlabel("iterations", fontsize=8)
        ax.set_ylabel("difference (points)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    fig.suptitle("Scale map: each claim's difference ± 95% interval (green band: the paper's side; "
                 "filled green: holds, red: reversed, grey: not shown, hollow: < 3 seeds)", fontsize=8)
    footer(fig, label, 0.08)
    return fig


def provenance(records: list[dict]) -> dict:
    return {"points": len(records), "nets": sorted({r["net"] for r in records}),
            "iterations": sorted({r["iterations"] for r in records}), "seeds": sorted({r["seed"] for r in records}),
            "datasets": sorted({r["dataset"] for r in records}), "commits": sorted({r["commit"] for r in records}),
            "hardware": sorted({r["hardware"] for r in records}),
            "test_images": sorted({r["final_eval_images"] for r in records})}


def label(prov: dict) -> str:
    return (f"scale map · {', '.join(prov['datasets'])} · final errors on {'/'.join(map(str, prov['test_images']))} "
            f"test images · {'/'.join(map(str, prov['iterations']))} iterations · seeds "
            f"{','.join(map(str, prov['seeds']))} · {prov['points']} runs · commit {', '.join(prov['commits'])} · "
            f"{'; '.join(prov['hardware'])}")

