"""``python -m paper_repro.tools.gpu_evidence``: the GPU issue's measurements, prepared as one command.

A GPU is lent to this project's sessions only by chance and for minutes, so what to measure there
is decided here in advance and tested on the CPU (``--device cpu --quick``). Each step writes
``<out>/<step>.json`` (the numbers, the device, torch, the commit) as soon as it ends, so a call
cut short by its time limit still brings back the steps it finished:

  cuda      the engine's tests on the GPU (``pytest -m cuda``): bf16 autocast, channels_last, fused
            SGD, the device loader, resume after SIGKILL
  bench     this engine against the usual DataLoader/PIL/fp32 loop, ResNet-20/56/110 at batch 128:
            steady-state images/s and their ratio, and the engine again with torch.compile
  memory    ResNet-1202 at batch 128 (the paper used 2 GPUs): peak GPU memory
            (torch.cuda.max_memory_allocated) and images/s over a few hundred iterations
  packing   aggregate images/s of 1, 2, 4 and 8 ResNet-20 processes sharing the GPU: the figure
            that decides how many CIFAR runs ``sweep`` should place on one GPU

  schedule  the paper's 64k-iteration schedule timed: ``python -m paper_repro train resnet56 --profile
            full --dataset fashion-mnist`` (batch 128, lr 0.1, ÷10 at 32k and 48k), its run folder's
            summary and metrics copied to ``<out>/schedule/``
  fullmap   full-length scale-map points: ``python -m paper_repro scale-map --iterations 64000`` for
            ResNet-20/56/110 and plain-20/56, seeds 0-2, ``--processes`` at a time on the one GPU,
            their records appended to ``<out>/records.jsonl`` and their nets to ``<out>/weights/``
            (the curves on all 10,000 test images every 400 iterations, as the CPU's long runs)

The last two are ordinary runs of the run store (``--runs``, default ``runs/``): a call cut short
by ``--deadline`` (seconds from the start; no step or run starts after it, and running ones are
killed there, like the SIGKILL of the run store's resume test) resumes them from their last
checkpoint on the next call. Each fullmap run's output goes to ``<out>/fullmap-logs/``, and a failed
run's last lines come back in ``fullmap.json``.

Every file and record names the commit of the code that made it. A copy of the tree without its
``.git`` (what a GPU box receives) has none: set ``PAPER_REPRO_COMMIT`` to the commit the copy was
made from; without a commit the script refuses to start. Afterwards, the step files go to
``figures/gpu-evidence/`` (committed; the GPU block of book/08_using.md is generated from them) and the lines of
``records.jsonl`` are appended to ``figures/scale-map/records.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from paper_repro.book.gpu import GPU_EVIDENCE
from paper_repro.classification.bench import bench, engine_images_per_sec
from paper_repro.classification.config import RunConfig
from paper_repro.classification.train import fit
from paper_repro.experiments.scale_map import land
from paper_repro.paper import classification as paper
from paper_repro.runs.provenance import ROOT, git_commit, hardware
from paper_repro.runs.records import RECORDS

STEPS = ("cuda", "bench", "memory", "packing", "schedule", "fullmap")
FULLMAP_NETS = ("resnet20", "resnet56", "resnet110", "plain20", "plain56")
# the curves of the long runs on this machine's CPUs (issue 29): all 10,000 test images every 400
# iterations, so that a GPU record is the same point (config hash) measured again, on other hardware
FULLMAP_CURVES = ("--eval-images", "10000", "--eval-interval", "400")


def _stamp(device: str, quick: bool) -> dict:
    """What every step file carries; ``quick`` marks a check of the script, never shown as a measurement."""
    return {
        "device": device,
        "hardware": hardware(device),
        "torch": torch.__version__,
        "commit": git_commit(),
        "quick": quick,
    }


def step_cuda(device: str, quick: bool, ctx) -> dict:
    """The tests marked ``cuda`` (tests/test_cuda.py), run on this machine's GPU."""
    t = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", "cuda", "-p", "no:cacheprovider", "tests/test_cuda.py"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return {
        "returncode": r.returncode,
        "summary": (r.stdout.strip().splitlines() or [""])[-1],
        "output_tail": r.stdout[-3000:] + r.stderr[-1000:],
        "seconds": time.perf_counter() - t,
    }


def step_bench(device: str, quick: bool, ctx) -> dict:
    """Engine against the usual loop, eager, and the engine compiled, per net."""

    its, warm = (8, 4) if quick else (300, 50)
    rows = []
    for model in ("resnet20",) if quick else ("resnet20", "resnet56", "resnet110"):
        row = bench(model=model, batch_size=128, device=device, iterations=its, warmup=warm, workers=2 if quick else 8)
        row["compiled_images_per_sec"] = engine_images_per_sec(
            model, "synthetic", 128, row["device"], its, warm, compile=not quick
        )[0]
        row["compiled_ratio"] = row["compiled_images_per_sec"] / row["baseline_images_per_sec"]
        rows.append(row)
    return {"rows": rows, "compiled": not quick}


def step_memory(device: str, quick: bool, ctx) -> dict:
    """ResNet-1202 at batch 128 through the engine: peak memory and images/s."""

    n = 4 if quick else 300
    cfg = RunConfig(
        model="resnet8" if quick else "resnet1202",
        dataset="synthetic",
        experiment="gpu-memory",
        iterations=n,
        batch_size=128,
        milestones=(n,),
        eval_interval=max(1, n // 4),
        checkpoint_interval=n,
        eval_subset=500,
        device=device,
    )
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    with tempfile.TemporaryDirectory() as out:
        s = fit(cfg, out=out, progress=False).summary
    return {
        "model": cfg.model,
        "batch_size": 128,
        "iterations": n,
        "images_per_sec": s["images_per_sec"],
        "precision": s["precision"],
        "final_train_error": s["final_train_error"],
        "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30 if cuda else None,
    }


def step_packing(device: str, quick: bool, ctx) -> dict:
    """k concurrent ResNet-20 processes (k = 1, 2, 4, 8): each one's steady images/s, and their sum."""
    its = 8 if quick else 400
    rows = []
    for k in (1, 2) if quick else (1, 2, 4, 8):
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "paper_repro.tools.gpu_evidence",
                    "--worker",
                    "--device",
                    device,
                    "--iterations",
                    str(its),
                ],
                stdout=subprocess.PIPE,
                text=True,
                env=dict(
                    os.environ,
                    OMP_NUM_THREADS="1" if not device.startswith("cuda") else os.environ.get("OMP_NUM_THREADS", "4"),
                ),
            )
            for _ in range(k)
        ]
        each = [json.loads(p.communicate()[0].strip().splitlines()[-1])["images_per_sec"] for p in procs]
        rows.append({"processes": k, "images_per_sec_each": each, "images_per_sec_total": sum(each)})
    return {"model": "resnet20", "batch_size": 128, "iterations": its, "rows": rows}


def _until_deadline(cmd: list[str], ctx) -> dict:
    """Run ``cmd`` (from the project folder) until it ends or the deadline passes (then it is
    killed: the run resumes from its last checkpoint next time)."""
    left = ctx.end - time.monotonic()
    if left <= 0:
        return {"returncode": None, "stopped_at_deadline": True, "stdout": ""}
    try:
        r = subprocess.run(
            cmd, capture_output=True, text=True, cwd=ROOT, timeout=None if left == float("inf") else left
        )
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        return {"returncode": None, "stopped_at_deadline": True, "stdout": out}
    return {"returncode": r.returncode, "stopped_at_deadline": False, "stdout": r.stdout, "stderr": r.stderr[-2000:]}


def step_schedule(device: str, quick: bool, ctx) -> dict:
    """ResNet-56 on the paper's schedule (Fashion-MNIST, the full profile's recipe) through ``train``."""
    cmd = [sys.executable, "-m", "paper_repro", "train", "resnet56", "--profile", "smoke" if quick else "full"]
    cmd += ["--dataset", "fashion-mnist", "--device", device, "--out", str(ctx.runs), "--data-root", str(ctx.data_root)]
    r = _until_deadline(cmd, ctx)
    folder = next((ln[len("run: ") :] for ln in r["stdout"].splitlines() if ln.startswith("run: ")), None)
    result = {"command": " ".join(cmd[1:]), **{k: v for k, v in r.items() if k != "stdout"}, "run": folder}
    if folder:
        keep = Path(ctx.out) / "schedule"
        keep.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "summary.json", "metrics.jsonl"):
            if (ROOT / folder / name).exists():  # the printed folder: absolute, or relative to ROOT
                shutil.copy(ROOT / folder / name, keep)
        if (keep / "summary.json").exists():
            result["summary"] = json.loads((keep / "summary.json").read_text())
    return result


def step_fullmap(device: str, quick: bool, ctx) -> dict:
    """Full-length scale-map points, ``ctx.processes`` at a time, until all are done or the deadline."""
    nets, seeds, n = (("resnet8", "plain8"), (0,), 4) if quick else (FULLMAP_NETS, (0, 1, 2), paper.ITERATIONS)
    records = Path(ctx.out) / "records.jsonl"
    todo = [(net, seed) for seed in seeds for net in nets]
    running, ended = [], []
    logs = Path(ctx.out) / "fullmap-logs"
    logs.mkdir(parents=True, exist_ok=True)
    Path(ctx.runs).mkdir(parents=True, exist_ok=True)  # made once here, not raced for by the runs' own checks

    def start(net, seed):
        cmd = [sys.executable, "-m", "paper_repro", "scale-map", "--profile", "smoke" if quick else "cpu"]
        cmd += ["--models", net, "--seeds", str(seed), "--iterations", str(n), "--out", str(ctx.runs)]
        cmd += ["--data-root", str(ctx.data_root), "--records", str(records)]
        cmd += [] if quick else list(FULLMAP_CURVES)
        log = logs / f"{net}-seed{seed}.log"  # appended on each call: a failure's reason comes back in $OUT
        with open(log, "a") as f:
            return net, seed, subprocess.Popen(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, text=True)

    while (todo or running) and time.monotonic() < ctx.end:
        while todo and len(running) < ctx.processes:
            running.append(start(*todo.pop(0)))
        time.sleep(0.5)
        for job in [j for j in running if j[2].poll() is not None]:
            running.remove(job)
            ended.append({"net": job[0], "seed": job[1], "returncode": job[2].returncode})
            if job[2].returncode:
                ended[-1]["log_tail"] = (logs / f"{job[0]}-seed{job[1]}.log").read_text()[-2000:]
    for net, seed, proc in running:  # the deadline: stopped, to resume next time
        proc.kill()
        proc.wait()
        ended.append({"net": net, "seed": seed, "returncode": None, "stopped_at_deadline": True})
    done = [json.loads(x) for x in records.read_text().splitlines()] if records.exists() else []
    return {
        "iterations": n,
        "processes": ctx.processes,
        "runs": ended,
        "not_started": [{"net": net, "seed": seed} for net, seed in todo],
        "records": len(done),
        "final_test_errors": {f"{r['net']} seed {r['seed']}": r["final_eval_error"] for r in done},
    }


def collect(folder: Path, into: Path, records: Path) -> dict:
    """Bring a GPU call's files home: the measured step files (and the schedule run's folder) into
    ``into`` (``figures/gpu-evidence/``, where book/08_using.md's GPU block is generated from), and the new
    records of the fullmap's ``records.jsonl`` with their weights landed in ``records`` (the scale map;
    :func:`paper_repro.experiments.scale_map.land`: a record already there is skipped, a point measured
    again on the GPU is a new record). A ``--quick`` call's files are refused: they measure nothing."""
    folder, into = Path(folder), Path(into)
    steps = [n for n in STEPS if (folder / f"{n}.json").exists()]
    if not steps:
        raise ValueError(f"{folder}: no step files of gpu_evidence here (expected one of {', '.join(STEPS)}.json)")
    if any(json.loads((folder / f"{n}.json").read_text()).get("quick") for n in steps):
        raise ValueError(f"{folder}: written by a --quick call, which checks the script and measures nothing")
    new = land(folder / "records.jsonl", records) if (folder / "records.jsonl").exists() else []
    into.mkdir(parents=True, exist_ok=True)
    measured = [n for n in steps if n != "fullmap"]  # fullmap's records go to the scale map instead
    for n in measured:
        shutil.copy(folder / f"{n}.json", into / f"{n}.json")
    if (folder / "schedule").is_dir():
        shutil.copytree(folder / "schedule", into / "schedule", dirs_exist_ok=True)
    return {"steps": measured, "records": len(new)}


def worker(device: str, iterations: int) -> None:
    """One packing process: the engine's steady images/s for ResNet-20, printed as one JSON line."""

    ips, _ = engine_images_per_sec("resnet20", "synthetic", 128, device, iterations, max(1, iterations // 8))
    print(json.dumps({"images_per_sec": ips}))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m paper_repro.tools.gpu_evidence", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="gpu-evidence", help="folder for <step>.json (default: gpu-evidence)")
    p.add_argument("--device", default="cuda", help="cuda (default) or cpu, to test this script without a GPU")
    p.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS), help="default: all, in this order")
    p.add_argument(
        "--quick", action="store_true", help="a few iterations per step: checks the script, measures nothing"
    )
    p.add_argument("--runs", default="runs", help="run store of the schedule and fullmap steps (default: runs)")
    p.add_argument("--data-root", default="data", help="folder with Fashion-MNIST (default: data)")
    p.add_argument(
        "--deadline", type=float, default=float("inf"), help="seconds from the start: no step or run starts after it"
    )
    p.add_argument("--processes", type=int, default=4, help="fullmap: runs at once on the GPU (default: 4)")
    p.add_argument(
        "--collect",
        metavar="DIR",
        help="instead of measuring: copy a GPU call's OUT folder into figures/gpu-evidence/ and append its "
        "full-length records to the scale map (then run `report --readme README.md` and `report --readme "
        "book/08_using.md`)",
    )
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--iterations", type=int, default=400, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.worker:
        worker(a.device, a.iterations)
        return 0
    if a.collect:
        try:
            done = collect(Path(a.collect), GPU_EVIDENCE, RECORDS)
        except ValueError as e:
            print(f"python -m paper_repro.tools.gpu_evidence: error: --collect {e}", file=sys.stderr)
            return 2
        print(f"gpu_evidence: {', '.join(done['steps'])} -> {GPU_EVIDENCE}; {done['records']} new scale-map records")
        return 0

    if a.device.startswith("cuda") and not torch.cuda.is_available():
        print(
            "python -m paper_repro.tools.gpu_evidence: error: no CUDA GPU here; use --device cpu --quick to test the "
            "script",
            file=sys.stderr,
        )
        return 2
    err = None
    if a.processes < 1 or a.deadline <= 0:
        err = "--processes and --deadline must be > 0"
    elif {"schedule", "fullmap"} & set(a.steps) and not Path(a.data_root).is_dir():
        err = f"--data-root {a.data_root}: no such folder (it holds Fashion-MNIST for the schedule and fullmap steps)"
    elif git_commit() == "unknown":
        err = "no commit to label the results with: run it in a git checkout, or set PAPER_REPRO_COMMIT to the commit "
        err += "this copy of the tree was made from"
    if err:
        print(f"python -m paper_repro.tools.gpu_evidence: error: {err}", file=sys.stderr)
        return 2
    a.out, a.runs, a.data_root = (str(Path(x).resolve()) for x in (a.out, a.runs, a.data_root))  # runs start in ROOT
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    a.end = time.monotonic() + a.deadline
    for name in a.steps:
        if name == "cuda" and not a.device.startswith("cuda"):
            continue
        if time.monotonic() >= a.end:
            print(f"gpu_evidence: {name} not started: the deadline has passed", flush=True)
            continue
        t = time.perf_counter()
        measured = globals()[f"step_{name}"](a.device, a.quick, a)
        result = {"step": name, **_stamp(a.device, a.quick), **measured, "wall_s": None}
        result["wall_s"] = time.perf_counter() - t
        (out / f"{name}.json").write_text(json.dumps(result, indent=1, default=str) + "\n")
        print(f"gpu_evidence: {name} done in {result['wall_s']:.0f} s -> {out / name}.json", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
