"""What every run shares, whatever it trains: the classification nets of §4.2 (``train.fit``) and
the detectors of §4.3 (``detection.train.fit_detector``).

A run lives in the run store (``store.py``). A finished run is read back, not retrained; one
process at a time trains it (``sole_writer``); it resumes from its last good checkpoint, which
holds the model, the optimizer, the loader's position and every RNG state (``restore`` /
``save_checkpoint``), so a resumed run ends with the numbers of an uninterrupted one; a NaN/inf
loss ends it with a "diverged" summary (``Diverged``). How fast it runs (the device, bf16
autocast, channels_last) is decided here too, once (``resolve_speed``), and never changes what
the recipe is.
"""
from __future__ import annotations

import contextlib
import os
import random
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from paper_repro.runs import store
from paper_repro.runs.provenance import cpu_flags


# --------------------------------------------------------------------------- results
class Diverged(RuntimeError):
    """The loss became NaN or inf; the run's summary records the iteration."""

    def __init__(self, iteration: int, summary: dict):
        super().__init__(f"loss is not finite at iteration {iteration}: the run diverged")
        self.iteration, self.summary = iteration, summary


@dataclass
class Result:
    """A run as its callers see it: where it lives, its config, its summary and metrics."""

    run_dir: Path
    config: object  # RunConfig or DetectConfig
    summary: dict
    metrics: list[dict] = field(default_factory=list)
    cached: bool = False
    resumed_from: int | None = None


def stored_result(directory: Path, cfg) -> Result | None:
    """The result of a run that already ended in ``directory`` (read back, not retrained), or None
    when it has not. A run that diverged raises Diverged again, with its stored summary."""
    done = store.finished_summary(directory)
    if done is None or done.get("status") not in ("finished", "diverged"):
        return None
    if done["status"] == "diverged":
        raise Diverged(done["diverged_at"], done)
    return Result(directory, cfg, done, store.read_metrics(directory), cached=True)


def log_to_stderr(msg: str) -> None:
    print(msg, file=sys.stderr)


# --------------------------------------------------------------------------- speed
@dataclass(frozen=True)
class Speed:
    device: torch.device
    precision: str
    channels_last: bool


def resolve_speed(cfg) -> Speed:
    """Turn 'auto' into what measured fastest on each device type (README, "Speed").

    GPU: bf16 autocast + channels_last. CPU: channels_last, and bf16 autocast where the processor
    has native bf16 instructions (avx512_bf16 / amx_bf16: 1.9x on this project's 2-core machine);
    fp32 elsewhere, where bf16 is emulated and slower.
    """
    if cfg.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(cfg.device)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("device cuda was asked for but no CUDA GPU is available; use --device cpu")
    if cfg.precision != "auto":
        precision = cfg.precision
    elif device.type == "cuda":
        precision = "bf16"
    else:
        precision = "bf16" if {"avx512_bf16", "amx_bf16"} & cpu_flags() else "fp32"
    channels_last = cfg.channels_last == "on" or cfg.channels_last == "auto"
    return Speed(device, precision, channels_last)


def autocast(speed: Speed):
    if speed.precision == "bf16":
        return torch.autocast(speed.device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> float:
    for group in optimizer.param_groups:
        group["lr"] = lr
    return lr


class Stopwatch:
    """Wall time of the training between evaluations (evaluation and checkpoints excluded)."""

    def __init__(self, device: torch.device):
        self.device, self.t0 = device, time.perf_counter()

    def lap(self) -> float:
        """Seconds since the last restart, after the device has finished its queued work."""
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - self.t0

    def restart(self) -> None:
        self.t0 = time.perf_counter()


# --------------------------------------------------------------------------- distributed
def distributed() -> tuple[int, int]:
    """(rank, world size); initialises torch.distributed when launched by torchrun."""
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() and os.environ.get("PAPER_REPRO_BACKEND") != "gloo" else "gloo"
        dist.init_process_group(backend)
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def all_sum(t: torch.Tensor, world: int) -> torch.Tensor:
    if world > 1:
        import torch.distributed as dist

        dist.all_reduce(t)
    return t


def all_min(t: torch.Tensor, world: int) -> torch.Tensor:
    if world > 1:
        import torch.distributed as dist

        dist.all_reduce(t, op=dist.ReduceOp.MIN)
    return t


def barrier(world: int) -> None:
    if world > 1:
        import torch.distributed as dist

        dist.barrier()


# --------------------------------------------------------------------------- RNG state
def seed_everything(seed: int) -> None:
    """torch, numpy and Python's generators, before the model is built (decides its initialisation)."""
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)


def rng_state() -> dict:
    """Every generator's state as tensors and plain Python data (what ``torch.load(weights_only=True)``
    reads back): numpy's MT19937 key array travels as an int64 tensor."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {"torch": torch.get_rng_state(), "python": random.getstate(),
            "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                      "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def set_rng_state(s: dict) -> None:
    torch.set_rng_state(s["torch"])
    n = s["numpy"]
    if isinstance(n, dict):
        np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                             n["cached_gaussian"]))
    else:  # a checkpoint written before: numpy's own tuple
        np.random.set_state(n)
    random.setstate(s["python"])
    if s.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])


# --------------------------------------------------------------------------- the run's files
@contextlib.contextmanager
def sole_writer(directory: Path, log, main: bool = True, world: int = 1):
    """The block in which this process is the run's only writer: rank 0 holds its lock
    (``store.run_lock``), and every rank enters only once it does."""
    with store.run_lock(directory, log) if main else contextlib.nullcontext():
        barrier(world)
        yield


def open_run(directory: Path, cfg, main: bool = True, world: int = 1) -> None:
    """The run's folder with its config.json (written once, by rank 0)."""
    if main:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise store.StoreWriteError(e.errno, f"cannot create the run folder {directory}: {e.strerror or e}") from e
        if not (directory / "config.json").exists():
            store.atomic_write_json(directory / "config.json", cfg.to_dict())
        else:
            why = store.config_problem(directory, type(cfg))
            if why:
                raise store.StoreCorrupt(f"{directory / 'config.json'}: {why}")
    barrier(world)


@dataclass
class RunState:
    """Where a run stands: the next iteration, the training time so far, and its metrics records."""

    start: int = 0
    elapsed: float = 0.0
    resumed_from: int | None = None
    records: list[dict] = field(default_factory=list)


def restore(directory: Path, parts: dict, log, main: bool = True, world: int = 1) -> RunState:
    """Load the newest good checkpoint into ``parts`` (name -> object with ``load_state_dict``:
    model, optimizer, loader, ...) and the RNGs; drop the metrics recorded after it. A checkpoint
    that does not fit (a missing part, a wrong shape) is skipped like a corrupted one, and the parts
    are left as they were before it was tried."""
    import copy

    def accept(state: dict) -> None:
        before = {name: copy.deepcopy(part.state_dict()) for name, part in parts.items()}
        rng_before = rng_state()
        try:
            for name, part in parts.items():
                part.load_state_dict(state[name])
            set_rng_state(state["rng"])
            int(state["iteration"]), float(state["elapsed"])
        except BaseException:
            for name, part in parts.items():
                part.load_state_dict(before[name])
            set_rng_state(rng_before)
            raise

    state = store.load_latest_checkpoint(directory, log, accept) if directory.exists() else None
    run = RunState()
    if state is not None:
        run = RunState(int(state["iteration"]), float(state["elapsed"]), int(state["iteration"]))
        if main:
            store.truncate_metrics(directory, run.start)
            log(f"paper_repro: resuming run {directory.parent.name}/{directory.name} from iteration {run.start}")
    elif main and (directory / "metrics.jsonl").exists():
        store.truncate_metrics(directory, 0)  # no usable checkpoint: start over
    barrier(world)
    run.records = store.read_metrics(directory) if main else []
    return run


def save_checkpoint(directory: Path, iteration: int, parts: dict, run: RunState, cfg) -> None:
    """Everything ``restore`` needs to continue exactly here (written atomically, sha256 beside)."""
    store.save_checkpoint(directory, iteration, {
        **{name: part.state_dict() for name, part in parts.items()}, "iteration": iteration, "rng": rng_state(),
        "elapsed": run.elapsed, "config": cfg.to_dict()})


def record_interval(directory: Path, run: RunState, record: dict, main: bool = True) -> None:
    """One metrics.jsonl line (rank 0 writes it)."""
    if main:
        run.records.append(record)
        store.append_metrics(directory, record)


def write_summary(directory: Path, summary: dict, main: bool = True) -> dict:
    if main:
        store.atomic_write_json(directory / "summary.json", summary)
    return summary


def maybe_test_stop(iteration: int) -> None:
    """Test hooks: the resume tests stop a run at a chosen iteration, with a real SIGKILL
    (``PAPER_REPRO_SIGKILL_AT``) or an interruption (``PAPER_REPRO_STOP_AT``)."""
    if os.environ.get("PAPER_REPRO_SIGKILL_AT") == str(iteration):
        os.kill(os.getpid(), signal.SIGKILL)
    if os.environ.get("PAPER_REPRO_STOP_AT") == str(iteration):
        raise KeyboardInterrupt
