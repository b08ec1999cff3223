"""Every run the book trains for a profile, in one place: ``python -m paper_repro plan --profile P``.

The chapters ask the profile for their nets, depths and seeds; this module lists the same runs up
front (model, seed, iterations, config hash, where it lives in the run store, whether it is stored
already) with a cost estimate, so that a reader knows what ``make book PROFILE=P`` will train
before starting it. The estimate is measured, not guessed: the wall time of stored runs of the
same net and data at this profile's batch, per iteration, on this machine; where no such run
exists yet the plan says so.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from . import store
from .config import RunConfig, get_profile


@dataclass(frozen=True)
class PlannedRun:
    chapter: str
    config: object  # RunConfig or DetectConfig

    @property
    def name(self) -> str:
        c = self.config
        return getattr(c, "model", None) or f"faster-rcnn-{c.backbone}"


def classification_runs(profile: str) -> list[PlannedRun]:
    """The CIFAR-style runs of chapters 2-4 (Fig. 1, 6, 7, Table 6), each once."""
    p = get_profile(profile)
    wanted: dict[str, PlannedRun] = {}

    def add(chapter, model, seed, iterations=None):
        cfg = p.run_config(model, "cifar", seed=seed, iterations=iterations)
        wanted.setdefault(cfg.hash(), PlannedRun(chapter, cfg))

    plain = [d for d in p.cifar_depths if d <= 56]  # plain-110 is not in Fig. 6
    for d in plain:
        for s in p.seeds_for(d):
            add("02_degradation", f"plain{d}", s)
    for d in p.cifar_depths:
        for s in p.seeds_for(d):
            add("02_degradation" if d <= 56 else "03_depth", f"resnet{d}", s)
    for d in p.deep_depths:
        add("03_depth", f"resnet{d}", 0, p.deep_iterations)
    return list(wanted.values())


def detection_runs(profile: str) -> list[PlannedRun]:
    """Chapter 5's two detectors on the canvases (VOC and COCO need folders the plan cannot see)."""
    from .detection.backbones import BACKBONES
    from .detection.train import profile_config

    return [PlannedRun("05_detection", profile_config(profile, b, "fashion-canvas")) for b in BACKBONES]


def run_folder(cfg, out) -> Path:
    return store.run_dir(cfg, out) if isinstance(cfg, RunConfig) else cfg.run_dir(out)


def seconds_per_iteration(out) -> dict[tuple, float]:
    """Measured cost: (net, data set, batch) -> mean wall seconds per iteration of finished runs."""
    seen: dict[tuple, list[float]] = {}
    for d in store.find_runs(out):
        s = store.finished_summary(d)
        if not s or s.get("status") != "finished" or not s.get("iterations_done"):
            continue
        cfg = json.loads((d / "config.json").read_text())
        key = (cfg.get("model") or cfg.get("backbone"), cfg.get("dataset"), cfg.get("batch_size"))
        seen.setdefault(key, []).append(s["wall_time_s"] / s["iterations_done"])
    return {k: sum(v) / len(v) for k, v in seen.items()}


def plan(profile: str, out="runs") -> list[dict]:
    """One row per run of the book: chapter, run, seed, iterations, hash, stored or to run, estimate."""
    cost = seconds_per_iteration(out)
    rows = []
    for r in classification_runs(profile) + detection_runs(profile):
        c = r.config
        folder = run_folder(c, out)
        done = store.finished_summary(folder)
        stored = bool(done and done.get("status") in ("finished", "diverged"))
        net = getattr(c, "model", None) or getattr(c, "backbone")
        per_it = cost.get((net, c.dataset, c.batch_size))
        rows.append({"chapter": r.chapter, "run": r.name, "seed": c.seed, "iterations": c.iterations,
                     "hash": c.hash(), "state": "stored" if stored else "to run",
                     "estimate_s": (done or {}).get("wall_time_s") if stored else
                     (None if per_it is None else per_it * c.iterations)})
    return rows


def table(rows: list[dict]) -> str:
    """The plan as a fixed-width table, with the total still to run."""
    head = f"{'chapter':<15} {'run':<22} {'seed':>4} {'iterations':>10} {'hash':<12}  {'state':<7} {'estimate':>9}"
    lines = [head, "-" * len(head)]
    for r in rows:
        est = "unknown" if r["estimate_s"] is None else f"{r['estimate_s'] / 60:.1f} min"
        lines.append(f"{r['chapter']:<15} {r['run']:<22} {r['seed']:>4} {r['iterations']:>10} {r['hash']:<12}  "
                     f"{r['state']:<7} {est:>9}")
    todo = [r for r in rows if r["state"] == "to run"]
    known = sum(r["estimate_s"] for r in todo if r["estimate_s"] is not None)
    unknown = sum(1 for r in todo if r["estimate_s"] is None)
    lines.append(f"{len(rows)} runs, {len(rows) - len(todo)} stored, {len(todo)} to run: about {known / 60:.0f} min "
                 f"measured on this machine" + (f", plus {unknown} run(s) never measured here" if unknown else ""))
    return "\n".join(lines)
