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

The paper's 64k-iteration schedule is a plain ``train`` command, resumable across calls:
``python -m paper_repro train resnet56 --profile full --dataset fashion-mnist --out OUT/runs``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from paper_repro.classification.bench import bench, engine_images_per_sec
from paper_repro.classification.config import RunConfig
from paper_repro.classification.train import fit
from paper_repro.runs.provenance import ROOT, git_commit, hardware

STEPS = ("cuda", "bench", "memory", "packing")


def _stamp(device: str) -> dict:

    return {"device": device, "hardware": hardware(device), "torch": torch.__version__, "commit": git_commit()}


def step_cuda(device: str, quick: bool) -> dict:
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


def step_bench(device: str, quick: bool) -> dict:
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


def step_memory(device: str, quick: bool) -> dict:
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


def step_packing(device: str, quick: bool) -> dict:
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
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--iterations", type=int, default=400, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.worker:
        worker(a.device, a.iterations)
        return 0

    if a.device.startswith("cuda") and not torch.cuda.is_available():
        print(
            "python -m paper_repro.tools.gpu_evidence: error: no CUDA GPU here; use --device cpu --quick to test the "
            "script",
            file=sys.stderr,
        )
        return 2
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in a.steps:
        if name == "cuda" and not a.device.startswith("cuda"):
            continue
        t = time.perf_counter()
        result = {"step": name, **_stamp(a.device), **globals()[f"step_{name}"](a.device, a.quick), "wall_s": None}
        result["wall_s"] = time.perf_counter() - t
        (out / f"{name}.json").write_text(json.dumps(result, indent=1, default=str) + "\n")
        print(f"gpu_evidence: {name} done in {result['wall_s']:.0f} s -> {out / name}.json", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
