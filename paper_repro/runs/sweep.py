"""The book as a sweep: ``python -m paper_repro sweep --profile P`` trains every run of the plan that
is not stored yet, many at once, as Ray tasks.

Why Ray: the book's runs are independent (one config, one run folder), so running them at once is
scheduling, and Ray is the established engine for it. ``ray.init()`` starts it embedded on this
machine, with nothing to set up; ``--address`` joins an existing Ray cluster unchanged; Ray retries
a task whose worker died and places tasks by the resources they declare. No home-made pool.

Placement: each run is one task that asks for ``num_cpus`` cores and ``num_gpus`` GPUs, and Ray
starts it where those are free (and sets CUDA_VISIBLE_DEVICES). At batch 128 a CIFAR net is bound
by kernel launches and leaves most of a GPU idle, so up to four share one (see :func:`placement`);
a detector asks for a whole GPU. On a machine without GPUs a run asks for ``cpus_per_run`` cores
and sets torch's thread count to match: 2 cores run 2 runs of one thread each. The longest runs
are submitted first, so that the sweep does not end waiting on one of them.

The run store is the contract. A task starts its run as every run of any kind starts
(``runs.registry.train``: ``classification.train.fit``, ``detection.train.fit_detector``), into
the same content-addressed folders, under each run's lock, so the notebooks executed afterwards
read every run back. A worker that dies (SIGKILL, out of memory) is retried and resumes from the
run's last checkpoint; a run that diverges or fails is reported and the others go on. On a cluster
the run store and the data folder must be one shared file system, at the same path on every node.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from paper_repro.runs import store
from paper_repro.runs.registry import train
from paper_repro.runs.run import Diverged

INSTALL_HINT = "Ray is not installed; install it with: pip install 'paper_repro[sweep]' (or: pip install ray)"
RETRIES = 3  # a run whose worker dies is started again this often, from its last checkpoint


@dataclass
class Outcome:
    run: object  # anything with a ``name`` and a ``config`` (a runs.spec.RunSpec)
    status: str  # finished | diverged | failed
    summary: dict | None = None
    error: str = ""
    seconds: float = 0.0
    resumed_from: int | None = None  # the checkpoint a retried (or earlier interrupted) run went on from

    def line(self) -> str:
        c = self.run.config
        where = f"{c.experiment}/{c.hash()}"
        what = _result(self.summary) if self.status == "finished" else self.error
        resumed = f", resumed from iteration {self.resumed_from}" if self.resumed_from else ""
        return f"{self.status:<8} {self.run.name} seed {c.seed} ({where}): {what}, {self.seconds:.0f} s{resumed}"


def _result(s: dict) -> str:
    if "final_eval_error" in s:
        return f"{s.get('eval_split', 'test')} error {100 * s['final_eval_error']:.2f}%"
    return f"mAP@.5 {100 * s['map50']:.1f}" if s.get("map50") is not None else "finished"


def train_one(cfg, out: str, data_root: str, threads: int) -> dict:
    """One run, inside a Ray worker: the chapters' own entry point, into the same run store."""
    torch.set_num_threads(threads)
    t = time.perf_counter()
    try:
        r = train(cfg, out=out, data_root=data_root, progress=False)
        return {
            "status": "finished",
            "summary": r.summary,
            "seconds": time.perf_counter() - t,
            "resumed_from": r.resumed_from,
        }
    except Diverged as e:
        return {"status": "diverged", "summary": e.summary, "error": str(e), "seconds": time.perf_counter() - t}
    except Exception as e:
        first = (str(e).strip().splitlines() or [""])[0]
        return {"status": "failed", "error": f"{type(e).__name__}: {first}", "seconds": time.perf_counter() - t}


# --------------------------------------------------------------------------- checks, before anything runs
def import_ray():
    """Ray, or ValueError with the one line that says how to install it."""
    try:
        import ray  # noqa: PLC0415 - optional: the [sweep] extra, heavy to import
    except ImportError:
        raise ValueError(INSTALL_HINT) from None
    return ray


def check_address(address: str, timeout: float = 3.0) -> None:
    """HOST:PORT (the head's GCS) or ray://HOST:PORT (Ray Client) where something answers within
    ``timeout`` seconds: a typo or a stopped head fails here, at once. ``auto`` (the cluster this
    node belongs to) is left to Ray, which says at once when there is none."""
    if address == "auto":
        return
    hostport = address.removeprefix("ray://")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(
            f"--address {address!r}: give the Ray head as HOST:PORT (e.g. 10.0.0.1:6379), ray://HOST:PORT or auto"
        )
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as e:
        raise ValueError(
            f"--address {address}: no Ray head answers there ({e.strerror or e}); "
            "start one with `ray start --head` or fix the address"
        ) from None


def connect(ray, address: str, wait_s: int = 5) -> None:
    """Join the Ray cluster at ``address``, or raise ValueError in one line within a few seconds."""
    check_address(address)
    wait = "RAY_gcs_server_port_wait_time_s"  # Ray's connection budget (one try a second; default ~20)
    old = os.environ.get(wait)
    os.environ[wait] = old or str(wait_s)
    saved = os.dup(2)  # Ray's C++ core logs every failed try on fd 2: keep the failure to one line
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            ray.init(address=address, logging_level=logging.ERROR)
    except Exception as e:
        raise ValueError(
            f"--address {address}: Ray could not connect ({type(e).__name__}); check the address and "
            "the head's Ray version, and on a cluster with token authentication set RAY_AUTH_MODE=token "
            "(and RAY_AUTH_TOKEN)"
        ) from None
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        if old is None:
            os.environ.pop(wait)


def local_resources() -> tuple[int, int]:
    """This machine's cores and CUDA GPUs."""

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return cores, torch.cuda.device_count() if torch.cuda.is_available() else 0


def cluster_resources(ray) -> tuple[int, int]:
    """The largest node's cores and GPUs (a task runs on one node)."""
    nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
    return int(max((n.get("CPU", 0) for n in nodes), default=0)), int(max((n.get("GPU", 0) for n in nodes), default=0))


def check_resources(cores: int, gpus: int, gpus_per_run: float | None, cpus_per_run: int, where: str) -> None:
    if gpus_per_run is not None and gpus == 0:
        raise ValueError(f"--gpus-per-run {gpus_per_run}: {where} has no GPU; leave it out to run on CPU cores")
    if cpus_per_run > cores:
        raise ValueError(f"--cpus-per-run {cpus_per_run}: {where} has {cores} CPU core(s); give 1 .. {cores}")


def gpu_shares(runs, gpus_per_run: float | None, gpus: float) -> list[float]:
    """GPUs each run asks for: none where there are no GPUs; else ``gpus_per_run``, or a whole GPU for
    a detector and a share of one for a CIFAR net. At batch 128 a CIFAR net is bound by kernel
    launches and leaves most of a GPU idle, so up to four share one (Ray packs fractional requests
    onto as few GPUs as it can), but no more than it takes to start every CIFAR run at once: the
    14 of the full profile run four per GPU on one GPU, two per GPU on 8 GPUs."""
    if not gpus:
        return [0.0] * len(runs)
    if gpus_per_run is not None:
        return [gpus_per_run] * len(runs)
    small = [r.config.shares_gpu() for r in runs]
    share = 1 / min(4, max(1, math.ceil(sum(small) / gpus)))
    return [share if c else 1.0 for c in small]


def _ensure_data(runs, data_root) -> None:
    """Download or unpack each data set once, here, before the workers read it concurrently."""
    for cfg in {r.config.dataset: r.config for r in runs}.values():
        cfg.ensure_data(data_root)


# --------------------------------------------------------------------------- the sweep
def pending(runs, out) -> list:
    """The runs without a stored result (finished or diverged), longest first (iterations x depth)."""

    def stored(r):
        s = store.finished_summary(r.config.folder(out))
        return bool(s and s.get("status") in ("finished", "diverged"))

    return sorted((r for r in runs if not stored(r)), key=lambda r: r.config.work(), reverse=True)


@dataclass(frozen=True)
class Placement:
    """Where the runs go: a Ray cluster (``address``; None = Ray embedded on this machine), the GPU
    share and cores each run asks for, and how often a run whose worker died is started again."""

    address: str | None = None
    gpus_per_run: float | None = None  # None: a share of a GPU per CIFAR net, a whole one per detector
    cpus_per_run: int = 1
    retries: int = RETRIES


def sweep(
    runs,
    out="runs",
    data_root="data",
    placement: Placement = Placement(),
    progress: bool | None = None,
    name: str = "sweep",
    say=print,
) -> list[Outcome]:
    """Train every run of ``runs`` that is not stored yet as a Ray task; one Outcome per such run.

    Bad options raise ValueError (one line) before anything is started, printed or written. Uses
    a Ray that this process already started or joined; else starts one (and stops it at the end).
    """
    address, gpus_per_run, cpus_per_run = placement.address, placement.gpus_per_run, placement.cpus_per_run
    ray = import_ray()
    if gpus_per_run is not None and not 0 < gpus_per_run <= 1:
        raise ValueError(f"--gpus-per-run must be a number in (0, 1], got {gpus_per_run}")
    if cpus_per_run < 1:
        raise ValueError(f"--cpus-per-run must be a positive integer, got {cpus_per_run}")
    started = not ray.is_initialized()
    if started and address:
        connect(ray, address)
    elif started:  # embedded: check this machine before starting Ray on it
        cores, gpus = local_resources()
        check_resources(cores, gpus, gpus_per_run, cpus_per_run, "this machine")
    try:
        if ray.is_initialized():
            cores, gpus = cluster_resources(ray)
            check_resources(cores, gpus, gpus_per_run, cpus_per_run, "the largest node of the Ray cluster")
        out, data_root = str(Path(out).resolve()), str(Path(data_root).resolve())  # the same on every worker
        todo = pending(runs, out)
        if not todo:
            say(f"{name}: all {len(runs)} runs are stored already")
            return []
        _ensure_data(todo, data_root)
        if not ray.is_initialized():
            ray.init(include_dashboard=False, logging_level=logging.ERROR)
        todo = _Submitted(ray, todo, out, data_root, placement)
        return todo.collect(len(runs), progress, name, say)
    finally:
        if started and ray.is_initialized():
            ray.shutdown()


class _Submitted:
    """The pending runs submitted as Ray tasks, each asking for its cores and GPU share."""

    def __init__(self, ray, todo, out: str, data_root: str, placement: Placement):
        self.ray, self.todo, self.cpus = ray, todo, placement.cpus_per_run
        task = ray.remote(train_one)
        self.asks = gpu_shares(todo, placement.gpus_per_run, ray.cluster_resources().get("GPU", 0))
        self.refs = {}
        for r, gpus in zip(todo, self.asks):
            options = dict(num_cpus=self.cpus, num_gpus=gpus, max_retries=placement.retries)
            self.refs[task.options(**options).remote(r.config, out, data_root, self.cpus)] = r

    def collect(self, total: int, progress: bool | None, name: str, say) -> list[Outcome]:
        """Wait for every run, one line each as it ends, and a closing line listing those that failed."""
        ray, todo, asks, refs = self.ray, self.todo, self.asks, self.refs
        say(
            f"{name}: {len(todo)} of {total} runs to train; each asks for {self.cpus} core(s)"
            + (f" and {' or '.join(f'{g:g}' for g in sorted(set(asks)))} GPU" if any(asks) else ""),
            flush=True,
        )
        on = progress if progress is not None else sys.stderr.isatty()  # as paper_repro.runs.progress: none in CI
        bar = tqdm(total=len(todo), desc=name, unit="run", disable=not on, file=sys.stderr, dynamic_ncols=True)
        outcomes, waiting = [], list(refs)
        t0 = time.perf_counter()
        while waiting:
            [done], waiting = ray.wait(waiting, num_returns=1)
            try:
                o = Outcome(refs[done], **ray.get(done))
            except ray.exceptions.RayError as e:  # its worker died more often than ``retries`` allows
                o = Outcome(refs[done], "failed", error=(str(e).strip().splitlines() or [type(e).__name__])[0])
            outcomes.append(o)
            with bar.external_write_mode():  # the line above the bar, not through it
                say(o.line(), flush=True)
            bar.update(1)
        bar.close()
        bad = [o for o in outcomes if o.status != "finished"]
        say(
            f"{name}: {len(outcomes)} runs in {time.perf_counter() - t0:.0f} s, {len(outcomes) - len(bad)} finished"
            + (f", {len(bad)} did not:" if bad else ""),
            flush=True,
        )
        for o in bad:
            say("  " + o.line(), flush=True)
        return outcomes
