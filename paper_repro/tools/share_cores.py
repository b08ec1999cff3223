"""How two trainings share the cores: the engine's steady-state images/s, alone and with a second
identical process beside it, under OpenMP wait policies and CPU priorities.

    python -m paper_repro.tools.share_cores [--net resnet20] [--iterations 160]

Each case starts fresh processes (OpenMP reads its settings when it starts) with the same torch
thread count, so only how the threads wait, or which process goes first, changes; what a run
computes does not. Run it on an otherwise idle machine: it is a timing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import torch

CASES = {  # name -> (environment changes, nice value of the second process)
    "default": ({}, 0),
    "OMP_WAIT_POLICY=PASSIVE": ({"OMP_WAIT_POLICY": "PASSIVE"}, 0),
    "GOMP_SPINCOUNT=10000": ({"GOMP_SPINCOUNT": "10000"}, 0),
    "GOMP_SPINCOUNT=100000": ({"GOMP_SPINCOUNT": "100000"}, 0),
    "second process at nice 19": ({}, 19),
}


def one(net: str, iterations: int, threads: int) -> float:
    """This process's engine images/s (``bench.engine_timing``: steady state, evaluation excluded)."""
    from paper_repro.classification.bench import engine_timing  # noqa: PLC0415 - imported in the child only

    torch.set_num_threads(threads)
    return engine_timing(net, "synthetic", 128, "cpu", iterations=iterations, warmup=20)["images_per_sec"]


def _start(args, env: dict, nice: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "paper_repro.tools.share_cores", "--child", "--net", args.net]
    cmd += ["--iterations", str(args.iterations), "--threads", str(args.threads)]
    pre = (lambda: os.nice(nice)) if nice else None
    return subprocess.Popen(cmd, env={**os.environ, **env}, stdout=subprocess.PIPE, text=True, preexec_fn=pre)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m paper_repro.tools.share_cores", description=__doc__.split("\n\n")[0])
    p.add_argument("--net", default="resnet20")
    p.add_argument("--iterations", type=int, default=160)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(f"{one(args.net, args.iterations, args.threads):.0f}")
        return 0
    print(f"{args.net}, {args.threads} torch threads each, engine images/s | alone | first + second, together")
    for name, (env, nice) in CASES.items():
        alone = _start(args, env, 0).communicate()[0].strip()
        a, b = _start(args, env, 0), _start(args, env, nice)
        print(f"{name} | {alone} | {a.communicate()[0].strip()} + {b.communicate()[0].strip()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
