"""The GPU measurements as the book's appendix (book/08_using.md) shows them, generated from the files that
``python -m paper_repro.tools.gpu_evidence --out DIR`` wrote on a GPU box and that were then
committed to ``figures/gpu-evidence/`` (``<step>.json``, and ``schedule/`` with the paper-schedule
run's config, summary and metrics). Nothing here is typed by hand: every number is read from those
files, each row with the hardware, torch version and commit its step file carries.

A ``--quick`` call (``"quick": true`` in its files) checks the script and measures nothing, so its
files are never shown. The full-length scale-map points of the ``fullmap`` step are not shown here:
their records go into ``figures/scale-map/records.jsonl``, where the scale map and chapter 3 read them.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from paper_repro.book.figures import FIGURES
from paper_repro.book.tables import markdown_table

GPU_EVIDENCE = FIGURES / "gpu-evidence"
STEPS = ("cuda", "bench", "memory", "packing", "schedule")
GOAL_RATIO = 5.0  # the GPU issue's goal: the engine at least 5x the usual loop
COLUMNS = [("what", "what"), ("result", "result"), ("measured with", "measured with")]


def read_steps(folder: Path = GPU_EVIDENCE) -> dict[str, dict]:
    """The measured steps' files in ``folder`` (``--quick`` ones left out), by step name."""
    steps = {}
    for name in STEPS:
        path = Path(folder) / f"{name}.json"
        if path.exists():
            step = json.loads(path.read_text())
            if not step.get("quick"):
                steps[name] = step
    return steps


def _provenance(step: dict) -> str:
    return f"{step['hardware']}, torch {step['torch']}, commit {step['commit']}"


def _ips(x: float) -> str:
    return f"{x:,.0f} images/s"


def _cuda(step: dict, folder: Path) -> list[dict]:
    outcome = step["summary"] + ("" if step["returncode"] == 0 else f" (pytest exit code {step['returncode']})")
    return [{"what": "the engine's `cuda`-marked tests (`tests/test_cuda.py`)", "result": outcome}]


def _bench(step: dict, folder: Path) -> list[dict]:
    rows = []
    for r in step["rows"]:
        compiled = (
            f"; compiled (`torch.compile`) {_ips(r['compiled_images_per_sec'])}: **{r['compiled_ratio']:.2f}×**"
            if step.get("compiled")
            else "; compiled: not measured"
        )
        best = max(r["ratio"], r["compiled_ratio"] if step.get("compiled") else 0.0)
        goal = "met" if best >= GOAL_RATIO else "not met"
        rows.append(
            {
                "what": f"bench {r['model']}: the engine against the usual loop, batch {r['batch_size']}, synthetic "
                f"CIFAR-shaped data, {r['iterations']} timed iterations after {r['warmup']}",
                "result": f"usual loop {_ips(r['baseline_images_per_sec'])}; engine eager "
                f"{_ips(r['engine_images_per_sec'])} ({r['engine_precision']}): **{r['ratio']:.2f}×**{compiled}; "
                f"goal ≥ {GOAL_RATIO:.0f}×: {goal}",
            }
        )
    return rows


def _memory(step: dict, folder: Path) -> list[dict]:
    peak = "not measured (no GPU)" if step["peak_memory_gib"] is None else f"**{step['peak_memory_gib']:.1f} GiB**"
    return [
        {
            "what": f"{step['model']} at batch {step['batch_size']} through the engine, {step['iterations']} "
            "iterations: peak GPU memory",
            "result": f"{peak}, {_ips(step['images_per_sec'])} ({step['precision']})",
        }
    ]


def _packing(step: dict, folder: Path) -> list[dict]:
    parts = [
        f"{r['processes']}: {_ips(r['images_per_sec_total'])} in all "
        f"({statistics.fmean(r['images_per_sec_each']):,.0f} each)"
        for r in step["rows"]
    ]
    best = max(step["rows"], key=lambda r: r["images_per_sec_total"])
    return [
        {
            "what": f"{step['model']} processes at once on the one GPU (batch {step['batch_size']}, "
            f"{step['iterations']} iterations each): images/s",
            "result": "; ".join(parts) + f"; most in all with **{best['processes']}** at once",
        }
    ]


def _schedule(step: dict, folder: Path) -> list[dict]:
    kept = Path(folder) / "schedule"
    config = json.loads((kept / "config.json").read_text()) if (kept / "config.json").exists() else {}
    n = config.get("iterations", "?")
    what = (
        f"{config.get('model', 'resnet56')} on the paper's schedule ({n} iterations, batch "
        f"{config.get('batch_size', '?')}, lr ÷10 at {', '.join(map(str, config.get('milestones', [])))}), "
        f"{config.get('dataset', '?')}, through `train`"
    )
    s = step.get("summary")
    if s and s.get("status") == "finished":
        result = (
            f"**{s['wall_time_s'] / 60:.1f} min** of training ({_ips(s['images_per_sec'])}), final test error "
            f"{100 * s['final_eval_error']:.2f}% on {s['final_eval_images']} test images, training error "
            f"{100 * s['final_train_error']:.2f}%"
        )
    else:
        metrics = (kept / "metrics.jsonl").read_text().splitlines() if (kept / "metrics.jsonl").exists() else []
        done = json.loads(metrics[-1])["iteration"] if metrics else 0
        why = "stopped at the call's deadline" if step.get("stopped_at_deadline") else "did not finish"
        result = f"{why} at iteration {done} of {n} (it resumes from its last checkpoint on the next call)"
    return [{"what": what, "result": result}]


def rows(folder: Path = GPU_EVIDENCE) -> list[dict]:
    """One row per measured quantity, in the order of the GPU issue's steps."""
    rows_of = {"cuda": _cuda, "bench": _bench, "memory": _memory, "packing": _packing, "schedule": _schedule}
    out = []
    for name, step in read_steps(folder).items():
        out += [{**r, "measured with": _provenance(step)} for r in rows_of[name](step, folder)]
    return out


def readme_markdown(folder: Path = GPU_EVIDENCE) -> str:
    """The appendix's GPU block: the rows, or one sentence saying that nothing was measured yet."""
    found = rows(folder)
    if not found:
        return (
            f"Not measured yet: no GPU has been lent to the sessions that built this project. "
            f"`python -m paper_repro.tools.gpu_evidence --out OUT` measures it in one call; its files, "
            f"committed to `{GPU_EVIDENCE.relative_to(FIGURES.parent)}/`, fill this block."
        )
    return (
        markdown_table(found, COLUMNS) + "\n\nGenerated from the step files in "
        f"`{GPU_EVIDENCE.relative_to(FIGURES.parent)}/` (written by `python -m paper_repro.tools.gpu_evidence`)."
    )
