"""Does a sweep gain on this machine? The same runs trained one after another (torch using every
core) and as a sweep (one run per core, one thread each), in fresh temporary run stores:

    python -m paper_repro.tools.sweep_compare [--profile cpu] [--nets plain20 resnet20] [--seeds 0 1]

prints the wall time of each, Ray's start-up, the load average before and after (other work on
the machine perturbs the times), and whether the two give the same numbers. They need not: on a
CPU, torch's thread count changes the order of floating-point sums, so a 1-thread run and a
2-thread run of one config differ in the last digits and, after enough iterations, in the errors
(tests/test_sweep.py checks that a sweep equals sequential runs with the same thread count).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time

import torch

from paper_repro.classification.config import PROFILES, get_profile
from paper_repro.classification.train import fit
from paper_repro.cli import Parser, existing_folder, seed, validated
from paper_repro.experiments.plan import PlannedRun
from paper_repro.models import MODEL_NAME_HELP, parse_model_name
from paper_repro.runs.provenance import cpu_name
from paper_repro.runs.sweep import Placement, local_resources, sweep

# what a run measured (not when or how fast)
RESULT_KEYS = (
    "final_train_error",
    "final_train_loss",
    "final_eval_error",
    "final_eval_loss",
    "best_eval_error",
    "iterations_done",
    "status",
)


def compare(
    profile: str = "cpu", nets=("plain20", "resnet20"), seeds=(0, 1), data_root: str = "data", say=print
) -> dict:
    import ray  # noqa: PLC0415 - optional: the [sweep] extra, heavy to import

    p = get_profile(profile)
    runs = [PlannedRun("compare", p.run_config(n, "compare", seed=s)) for n in nets for s in seeds]
    cores = local_resources()[0]
    say(
        f"{len(runs)} runs of the {profile} profile ({', '.join(nets)} x seeds {', '.join(map(str, seeds))}; "
        f"{runs[0].config.iterations} iterations, {p.dataset}) on {cpu_name()}, {cores} cores; "
        f"load average before: {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        torch.set_num_threads(cores)
        t = time.perf_counter()
        seq = [fit(r.config, out=f"{tmp}/sequential", data_root=data_root, progress=False).summary for r in runs]
        t_seq = time.perf_counter() - t
        say(f"sequential, torch {cores} threads : {t_seq:6.0f} s", flush=True)

        t = time.perf_counter()
        ray.init(num_cpus=cores, include_dashboard=False, logging_level=logging.ERROR)
        t_ray = time.perf_counter() - t
        try:
            outcomes = sweep(runs, f"{tmp}/sweep", data_root, Placement(cpus_per_run=1), say=lambda *a, **k: None)
        finally:
            ray.shutdown()
        t_sweep = time.perf_counter() - t
    par = {o.run.config.hash(): o.summary for o in outcomes}
    say(
        f"sweep, {cores} workers x 1 thread : {t_sweep:6.0f} s (of which Ray's start {t_ray:.0f} s): "
        f"{t_seq / t_sweep:.2f}x the sequential speed",
        flush=True,
    )
    same = all(
        par[r.config.hash()] and all(par[r.config.hash()][k] == s[k] for k in RESULT_KEYS) for r, s in zip(runs, seq)
    )
    say(f"summaries identical: {'yes' if same else 'no'}")
    for r, s in zip(runs, seq):
        q = par[r.config.hash()] or {}
        say(
            f"  {r.name:>9} seed {r.config.seed}: final test error {100 * s['final_eval_error']:.2f}% sequential, "
            f"{100 * q.get('final_eval_error', float('nan')):.2f}% sweep; "
            f"training error {100 * s['final_train_error']:.2f}% "
            f"/ {100 * q.get('final_train_error', float('nan')):.2f}%"
        )
    say(f"load average after: {os.getloadavg()[0]:.2f}")
    return {"sequential_s": t_seq, "sweep_s": t_sweep, "ray_start_s": t_ray, "identical": same}


def main(argv=None) -> int:

    ap = Parser(prog="python -m paper_repro.tools.sweep_compare", description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", choices=tuple(PROFILES), default="cpu", help="the recipe and data")
    ap.add_argument(
        "--nets", nargs="+", type=validated(parse_model_name), default=["plain20", "resnet20"], help=MODEL_NAME_HELP
    )
    ap.add_argument("--seeds", nargs="+", type=seed, default=[0, 1], help="seeds per net")
    ap.add_argument("--data-root", type=existing_folder, default="data", help="an existing folder with the data sets")
    a = ap.parse_args(argv)
    compare(a.profile, a.nets, a.seeds, a.data_root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
