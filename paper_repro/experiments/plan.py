"""Every run the book trains for a profile, in one place: ``python -m paper_repro plan --profile P``.

The chapters ask the profile for their nets, depths and seeds; this module lists the same runs up
front (model, seed, iterations, config hash, where it lives in the run store, whether it is stored
already) with a cost estimate, so that a reader knows what ``make book PROFILE=P`` will train
before starting it. The estimate is measured, not guessed: the wall time of stored runs of the
same net and data at this profile's batch, per iteration, on this machine; where no such run
exists yet the plan says so.

``chapter_runs(profile, chapter)`` is the list one chapter reads, ``classification_runs`` and
``detection_runs`` the whole book's, each run once: ``sweep`` trains them, the chapters read them.
Where no machine has measured a run (a GPU), ``gpu_hours_table`` estimates its cost from counted
FLOPs and an assumed throughput, and says so.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass

from paper_repro.classification.config import RunConfig, get_profile
from paper_repro.detection.backbones import BACKBONES
from paper_repro.detection.config import DetectConfig, profile_config
from paper_repro.experiments.chapters import WITH_RUNS, of_task
from paper_repro.models import build_model, parse_model_name
from paper_repro.models.measure import multiply_adds
from paper_repro.runs import store
from paper_repro.runs.sweep import Placement, sweep


@dataclass(frozen=True)
class PlannedRun:
    chapter: str
    config: object  # RunConfig or DetectConfig

    @property
    def name(self) -> str:
        return self.config.name


def _once(runs) -> list[PlannedRun]:
    """Each config once (by its hash), where it first appears."""
    first: dict[str, PlannedRun] = {}
    for r in runs:
        first.setdefault(r.config.hash(), r)
    return list(first.values())


def chapter_runs(profile: str, chapter: str) -> list[PlannedRun]:
    """Every run ``chapter`` reads, each once, in the order the chapter asks for them (a run two
    chapters read is listed by both). The chapters and the sweep call this one list."""
    if chapter not in WITH_RUNS:
        raise ValueError(f"unknown chapter {chapter!r}; chapters with runs: {', '.join(WITH_RUNS)}")
    return _once(_chapter_runs(get_profile(profile), chapter))


def _chapter_runs(p, chapter: str) -> list[PlannedRun]:
    if chapter == "05_detection":
        return detection_runs(p.name)

    def run(model, seed=0, iterations=None):
        return PlannedRun(chapter, p.run_config(model, "cifar", seed=seed, iterations=iterations))

    def seeds(models):  # every seed the profile runs for each net: the samples a claim's verdict needs
        return [run(m, s) for m in models for s in p.seeds_for(parse_model_name(m)[2])]

    claim_nets = ["plain20", "plain56", "resnet20", "resnet56"]
    if chapter == "02_degradation":  # Fig. 6 left/middle (plain-110 is not in it), Table 6, the verdicts
        plain = [f"plain{d}" for d in p.cifar_depths if d <= 56]
        return [run(m) for m in plain + [f"resnet{d}" for d in p.cifar_depths]] + seeds(claim_nets)
    if chapter == "03_depth":  # Table 6 per depth over seeds, Fig. 6 right (110 against 1202)
        return seeds([f"resnet{d}" for d in p.cifar_depths]) + [
            run(f"resnet{d}", iterations=p.deep_iterations) for d in p.deep_depths
        ]
    # 04_responses: Fig. 7 measures the nets of the degradation chapter (and their seeds)
    return [run(m) for m in claim_nets + (["resnet110"] if 110 in p.cifar_depths else [])] + seeds(claim_nets)


def classification_runs(profile: str) -> list[PlannedRun]:
    """The CIFAR-style runs of chapters 2-4 (Fig. 1, 6, 7, Table 6), each once, under the first
    chapter that reads it."""
    return _once(r for chapter in of_task("classification") for r in chapter_runs(profile, chapter))


def detection_runs(profile: str) -> list[PlannedRun]:
    """Chapter 5's two detectors on the canvases (VOC and COCO need folders the plan cannot see)."""

    return [PlannedRun("05_detection", profile_config(profile, b, "fashion-canvas")) for b in BACKBONES]


def seconds_per_iteration(out) -> dict[tuple, float]:
    """Measured cost: (net, data set, batch) -> mean wall seconds per iteration of finished runs."""
    seen: dict[tuple, list[float]] = {}
    for d in store.find_runs(out):
        s = store.finished_summary(d)
        if not s or s.get("status") != "finished" or not s.get("iterations_done"):
            continue
        cfg, _ = store.read_json_object(d / "config.json")
        why = store.config_problem(d, RunConfig if "model" in cfg else DetectConfig) if cfg else None
        if cfg is None or why:
            print(f"paper_repro: ignoring run {d}: config.json: {why or 'not a JSON object'}", file=sys.stderr)
            continue
        key = (cfg.get("model") or cfg.get("backbone"), cfg.get("dataset"), cfg.get("batch_size"))
        seen.setdefault(key, []).append(s["wall_time_s"] / s["iterations_done"])
    return {k: sum(v) / len(v) for k, v in seen.items()}


def plan(profile: str, out="runs") -> list[dict]:
    """One row per run of the book: chapter, run, seed, iterations, hash, stored or to run, estimate."""
    cost = seconds_per_iteration(out)
    rows = []
    for r in classification_runs(profile) + detection_runs(profile):
        c = r.config
        folder = c.folder(out)
        done = store.finished_summary(folder)
        stored = bool(done and done.get("status") in ("finished", "diverged"))
        net = getattr(c, "model", None) or c.backbone
        per_it = cost.get((net, c.dataset, c.batch_size))
        rows.append(
            {
                "chapter": r.chapter,
                "run": r.name,
                "seed": c.seed,
                "iterations": c.iterations,
                "hash": c.hash(),
                "state": "stored" if stored else "to run",
                "estimate_s": (done or {}).get("wall_time_s")
                if stored
                else (None if per_it is None else per_it * c.iterations),
            }
        )
    return rows


def table(rows: list[dict]) -> str:
    """The plan as a fixed-width table, with the total still to run."""
    head = f"{'chapter':<15} {'run':<22} {'seed':>4} {'iterations':>10} {'hash':<12}  {'state':<7} {'estimate':>9}"
    lines = [head, "-" * len(head)]
    for r in rows:
        est = "unknown" if r["estimate_s"] is None else f"{r['estimate_s'] / 60:.1f} min"
        lines.append(
            f"{r['chapter']:<15} {r['run']:<22} {r['seed']:>4} {r['iterations']:>10} {r['hash']:<12}  "
            f"{r['state']:<7} {est:>9}"
        )
    todo = [r for r in rows if r["state"] == "to run"]
    known = sum(r["estimate_s"] for r in todo if r["estimate_s"] is not None)
    unknown = sum(1 for r in todo if r["estimate_s"] is None)
    lines.append(
        f"{len(rows)} runs, {len(rows) - len(todo)} stored, {len(todo)} to run: about {known / 60:.0f} min "
        f"measured on this machine" + (f", plus {unknown} run(s) never measured here" if unknown else "")
    )
    return "\n".join(lines)


# --------------------------------------------------------------------------- cost from FLOPs (no GPU measured)
TEST_IMAGES = 10_000  # CIFAR-10 and Fashion-MNIST both test on 10,000 images


@functools.cache
def forward_flops(model: str, dataset: str) -> float:
    """FLOPs of one forward pass of one 32x32 image: convolutions and matrix products, as
    ``torch.utils.flop_counter`` counts them (2 FLOPs per multiply-add of Table 1)."""

    channels = 1 if dataset == "fashion-mnist" else 3
    return 2 * multiply_adds(build_model(model, in_channels=channels), (1, channels, 32, 32))


def training_flops(cfg: RunConfig) -> float:
    """FLOPs of one classification run, counted, not measured: forward and backward of every training
    image (backward = 2x forward, the usual rule) plus the forward passes of every evaluation (one
    per ``eval_interval`` and the final one)."""
    evals = cfg.iterations // cfg.eval_interval * (cfg.eval_subset or TEST_IMAGES) + (
        cfg.final_eval_subset or TEST_IMAGES
    )
    return forward_flops(cfg.model, cfg.dataset) * (3 * cfg.batch_size * cfg.iterations + evals)


def gpu_hours_table(profile: str = "full", tflops=(100, 20)) -> str:
    """The profile's classification runs with their FLOPs and the GPU-hours they would take at each
    assumed sustained throughput (TFLOP/s): an estimate, as a Markdown table."""
    groups: dict[tuple, list] = {}
    for r in classification_runs(profile):
        groups.setdefault((r.name, r.config.iterations), []).append(r)
    head = ["run", "runs", "GFLOPs per image (forward)", "PFLOPs per run"] + [
        f"GPU-hours per run at {t} TFLOP/s" for t in tflops
    ]
    rows, total = [], 0.0
    for (name, _), runs in groups.items():
        c = runs[0].config
        f = training_flops(c)
        total += f * len(runs)
        rows.append(
            [name, str(len(runs)), f"{forward_flops(c.model, c.dataset) / 1e9:.3f}", f"{f / 1e15:.2f}"]
            + [f"{f / (t * 1e12) / 3600:.2f}" for t in tflops]
        )
    rows.append(
        [f"**all {sum(len(v) for v in groups.values())} runs, total**", "", "", f"{total / 1e15:.1f}"]
        + [f"**{total / (t * 1e12) / 3600:.1f}**" for t in tflops]
    )
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def sweep_profile(profile: str, out="runs", data_root="data", placement: Placement | None = None) -> list:
    """Every run of the book for ``profile`` (chapters 2-5) as a sweep (:func:`paper_repro.runs.sweep.sweep`)."""
    runs = classification_runs(profile) + detection_runs(profile)
    return sweep(runs, out, data_root, placement or Placement(), name=f"sweep [{profile}]")
