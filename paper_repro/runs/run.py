"""A run as the process that trains it sees it, whatever it trains: the classification nets of
§4.2 (``classification.train``) and the detectors of §4.3 (``detection.train``).

A finished run is read back, not retrained (``stored_result``); one process at a time trains it
(``sole_writer``). :class:`Run` owns the run's folder and files: it opens the folder and resumes
from the last good checkpoint, which holds the checkpointed parts (model, optimizer, loader, ...)
and every RNG state, so a resumed run ends with the numbers of an uninterrupted one
(``Run.open``); it appends metrics records (``Run.record``), saves checkpoints
(``Run.checkpoint``), writes the summary (``Run.finish``), and walks the iterations with the
progress bar (``Run.steps``), telling the watchers installed around it (``runs.progress.watching``)
where it starts, each iteration, each metrics row and how it ended. :class:`Tally` keeps a logging
interval's sums on the device. A NaN/inf loss ends a run with a "diverged" summary (:class:`Diverged`).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import os
import random
import signal
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from paper_repro.runs import store
from paper_repro.runs.distributed import all_min, all_sum, barrier
from paper_repro.runs.progress import Watched, watchers
from paper_repro.runs.progress import bar as progress_bar
from paper_repro.runs.provenance import provenance
from paper_repro.runs.speed import Speed, Stopwatch


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
    config: object  # a runs.spec.RunSpec: RunConfig or DetectConfig
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


# --------------------------------------------------------------------------- the schedule's shared parts
def step_decay(iteration: int, cfg) -> float:
    """``cfg.lr`` divided by ``1 / cfg.lr_decay`` at each of ``cfg.milestones`` (§4.2: by 10 at 32k
    and 48k; Faster R-CNN: by 10 at 60k on VOC)."""
    return cfg.lr * cfg.lr_decay ** sum(iteration >= m for m in cfg.milestones)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> float:
    for group in optimizer.param_groups:
        group["lr"] = lr
    return lr


def make_optimizer(parameters, cfg, device: torch.device) -> torch.optim.SGD:
    """SGD with ``cfg``'s lr, momentum and weight decay on every parameter that is trained: weight
    decay on BN's too, as in the authors' Caffe solver; a detector's frozen layers are left out.
    One fused kernel on a GPU; on a CPU one foreach call per step, the same numbers as a loop over
    the parameters (fused there rounds differently, by ~3e-8 in a step). Speed only, both tasks."""
    trained = [p for p in parameters if p.requires_grad]
    fast = {"fused": True} if device.type == "cuda" else {"foreach": True}
    return torch.optim.SGD(trained, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, **fast)


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
    return {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }


def set_rng_state(s: dict) -> None:
    torch.set_rng_state(s["torch"])
    n = s["numpy"]
    if isinstance(n, dict):
        np.random.set_state(
            (n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"])
        )
    else:  # a checkpoint written before: numpy's own tuple
        np.random.set_state(n)
    random.setstate(s["python"])
    if s.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])


# --------------------------------------------------------------------------- one writer
@contextlib.contextmanager
def sole_writer(directory: Path, log, main: bool = True, world: int = 1):
    """The block in which this process is the run's only writer: rank 0 holds its lock
    (``store.run_lock``), and every rank enters only once it does."""
    with store.run_lock(directory, log) if main else contextlib.nullcontext():
        barrier(world)
        yield


def train_once(cfg, out, log, load, train, rank: int = 0, world: int = 1) -> Result:
    """The one way every task trains a run: ``cfg`` validated; its stored result returned when it
    has one (read back, not retrained); else ``load()`` (the data set, before anything is written:
    a missing data set writes nothing), the run's lock taken, and, unless another process finished
    the run while this one waited, ``train(Run, data)``. Raises :class:`Diverged` for a run that
    diverged (now or before)."""
    cfg.validate()
    log = log or store.log_to_stderr
    directory = cfg.folder(out)
    stored = stored_result(directory, cfg)
    if stored is not None:
        return stored
    data = load()
    with sole_writer(directory, log, main=rank == 0, world=world):
        stored = stored_result(directory, cfg)
        if stored is not None:
            return stored
        run = Run(cfg, directory, log, rank, world)
        try:
            return train(run, data)
        except BaseException as e:
            run.unwatch(e)
            raise
        finally:
            run.unwatch(None)


# --------------------------------------------------------------------------- the run
class Run:
    """One run in the process that trains it: its config and folder, the parts its checkpoints
    hold, where it stands (the next iteration ``start``, the training seconds ``elapsed`` so far,
    the metrics ``records``), and the files it writes. Rank 0 writes; every rank keeps step."""

    def __init__(self, cfg, directory: Path, log, rank: int = 0, world: int = 1):
        self.cfg, self.directory, self.log = cfg, directory, log
        self.main, self.world = rank == 0, world
        self.parts: dict = {}
        self.start, self.elapsed, self.resumed_from, self.records = 0, 0.0, None, []
        self.speed: Speed | None = None
        self.bar = None
        self.watched, self.watching, self.done = Watched(watchers() if self.main else (), log), False, 0

    def open(self, parts: dict, speed: Speed) -> Run:
        """The folder with its config.json (written once, or checked against the folder's hash),
        then the newest good checkpoint loaded into ``parts`` (name -> object with
        ``state_dict``/``load_state_dict``) and the RNGs; metrics recorded after it are dropped.

        ``self.speed`` is ``speed`` with the precision the run began in: precision ``auto`` resolves
        per machine (bf16 only where the processor has it natively), and a run resumed on another
        machine goes on in the arithmetic it began in, so that its record names one precision for
        all its iterations (bf16 emulated where the processor lacks it: slower, the same rounding)."""
        _open_folder(self.directory, self.cfg, self.main, self.world)
        self.parts = parts
        state = _restore(self.directory, parts, self.log, self.main, self.world)
        self.speed = speed
        if state is not None:
            self.start = self.resumed_from = int(state["iteration"])
            self.elapsed = float(state["elapsed"])
            began = state.get("precision")  # None in checkpoints written before it was kept
            if began is not None and began != speed.precision:
                if self.main:
                    self.log(
                        f"paper_repro: run {self.directory.parent.name}/{self.directory.name} began in {began}: "
                        f"it goes on in {began}, not in {speed.precision} as precision {self.cfg.precision} "
                        "would pick on this machine"
                    )
                self.speed = dataclasses.replace(speed, precision=began)
        self.records = store.read_metrics(self.directory) if self.main else []
        return self

    def at_interval(self, done: int, every: int) -> bool:
        return done % every == 0 or done == self.cfg.iterations

    def record(self, row: dict) -> None:
        """One metrics.jsonl line."""
        if self.main:
            self.records.append(row)
            store.append_metrics(self.directory, row)
            if self.watching:
                self.watched("row", row)

    @contextlib.contextmanager
    def interval(self, tally: Tally, done: int):
        """The end of an interval, ``done`` iterations in: the training seconds added to ``elapsed``,
        and the block given the interval's means and images per second; when the block ends, the
        checkpoint (when due) and the clock restarted, so evaluation is not counted as training."""
        dt = tally.clock.lap()
        self.elapsed += dt
        means, images = tally.means()
        yield means, images / dt
        self.checkpoint(done)
        tally.clock.restart()

    def checkpoint(self, iteration: int) -> None:
        """When due (every ``checkpoint_interval`` iterations and at the end): everything ``open``
        needs to continue exactly here, written atomically with its sha256 beside it."""
        if self.main and self.at_interval(iteration, self.cfg.checkpoint_interval):
            store.save_checkpoint(
                self.directory,
                iteration,
                {
                    **{name: part.state_dict() for name, part in self.parts.items()},
                    "iteration": iteration,
                    "rng": rng_state(),
                    "elapsed": self.elapsed,
                    "precision": self.speed.precision if self.speed else None,
                    "config": self.cfg.to_dict(),
                },
            )
        barrier(self.world)

    def finish(self, status: str, iteration: int, speed: Speed, fields: dict) -> dict:
        """summary.json: what every run reports (status, iterations, seed, time, device, where it ran)
        and the task's ``fields``."""
        summary = {
            "status": status,
            "diverged_at": iteration if status == "diverged" else None,
            "iterations_done": iteration,
            "dataset": self.cfg.dataset,
            "seed": self.cfg.seed,
            "wall_time_s": self.elapsed,
            "device": str(speed.device),
            "precision": speed.precision,
            "config_hash": self.cfg.hash(),
            **fields,
            **provenance(speed.device),
        }
        if self.main:
            store.atomic_write_json(self.directory / "summary.json", summary)
        return summary

    def result(self, summary: dict) -> Result:
        return Result(self.directory, self.cfg, summary, self.records, cached=False, resumed_from=self.resumed_from)

    def steps(self, desc: str, progress: bool | None = None):
        """The iterations from where the run stands to the end, with the progress bar; after each
        step's body, the bar moves, the watchers hear of it and the test hooks may stop the run."""
        self.done, self.watching = self.start, bool(self.watched)  # rank 0 only: the others have none
        if self.watching:
            self.watched("begin", desc, self.cfg.iterations, self.start, list(self.records))
        with progress_bar(self.cfg.iterations, self.start, desc, progress, enabled=self.main) as self.bar:
            for it in range(self.start, self.cfg.iterations):
                yield it
                self.bar.update(1)
                self.done = it + 1
                if self.watching:
                    self.watched("step", it + 1)
                maybe_test_stop(it + 1)

    def unwatch(self, error: BaseException | None) -> None:
        """The watchers told, once, that the run stopped: finished (``error`` None) or not."""
        if self.watching:
            self.watching = False
            self.watched("end", self.done, error)

    def show(self, every: int = 10, **postfix) -> None:
        """The bar's postfix (lr, loss, errors), every ``every`` iterations; values are formatted."""
        if self.bar is not None and not self.bar.disable and (self.bar.n + 1) % every == 0:
            self.bar.set_postfix(
                {k: (f"{float(v):.3f}" if torch.is_tensor(v) else v) for k, v in postfix.items()}, refresh=False
            )


class Tally:
    """A logging interval's running sums, kept on the device (the host reads them once per
    interval), the images seen, the training time (a :class:`Stopwatch`), and the losses not yet
    checked for NaN/inf: the host waits for the device only every ``check_every`` steps (every
    step on a CPU, where nothing is queued)."""

    def __init__(self, device: torch.device, world: int = 1):
        self.device, self.world = device, world
        self.sums: dict[str, torch.Tensor] = {}
        self.pending: list[torch.Tensor] = []
        self.images, self.check_every = 0, 1 if device.type == "cpu" else 25
        self.clock = Stopwatch(device)

    def add(self, n: int, step_loss: torch.Tensor, **sums: torch.Tensor) -> None:
        """One step of ``n`` images (this process's), its loss (checked for NaN/inf later), and named
        sums over its images."""
        count = torch.tensor(float(n), dtype=torch.float64, device=self.device)
        for k, v in {"n": count, **sums}.items():
            v = v.detach().double()
            self.sums[k] = self.sums[k] + v if k in self.sums else v
        self.pending.append(step_loss.detach())
        self.images += n * self.world

    def means(self) -> tuple[dict[str, float], int]:
        """Each sum divided by the images it was taken over (all processes), and the images seen;
        zero for the next interval."""
        names = [k for k in self.sums if k != "n"]
        totals = all_sum(torch.stack([self.sums["n"]] + [self.sums[k] for k in names]), self.world).tolist()
        images, self.images, self.sums = self.images, 0, {}
        return {k: v / totals[0] for k, v in zip(names, totals[1:])}, images

    def first_nonfinite(self, done: int, force: bool) -> int | None:
        """The first iteration (counted from 1: the step that ended at it) whose loss was NaN/inf,
        all processes agreeing, or None; ``done`` iterations in. Checks every ``check_every`` steps,
        or now when ``force``: both tasks call it after every step, at the end of each logging
        interval with ``force``."""
        if not (force or len(self.pending) >= self.check_every):
            return None
        finite = torch.isfinite(torch.stack(self.pending).float())
        idx = torch.nonzero(~finite)
        first = torch.tensor([float(idx[0, 0]) if len(idx) else float("inf")], dtype=torch.float64, device=self.device)
        bad = float(all_min(first, self.world))
        n, self.pending = len(self.pending), []
        return None if bad == float("inf") else done - n + int(bad) + 1


# --------------------------------------------------------------------------- the run's folder
def _open_folder(directory: Path, cfg, main: bool = True, world: int = 1) -> None:
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


def _restore(directory: Path, parts: dict, log, main: bool = True, world: int = 1) -> dict | None:
    """The newest good checkpoint, loaded into ``parts`` (name -> object with ``load_state_dict``:
    model, optimizer, loader, ...) and the RNGs; drop the metrics recorded after it. A checkpoint
    that does not fit (a missing part, a wrong shape) is skipped like a corrupted one, and the parts
    are left as they were before it was tried."""

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
    if state is not None and main:
        store.truncate_metrics(directory, int(state["iteration"]))
        log(f"paper_repro: resuming run {directory.parent.name}/{directory.name} from iteration {state['iteration']}")
    elif main and (directory / "metrics.jsonl").exists():
        store.truncate_metrics(directory, 0)  # no usable checkpoint: start over
    barrier(world)
    return state


def maybe_test_stop(iteration: int) -> None:
    """Test hooks: the resume tests stop a run at a chosen iteration, with a real SIGKILL
    (``PAPER_REPRO_SIGKILL_AT``) or an interruption (``PAPER_REPRO_STOP_AT``)."""
    if os.environ.get("PAPER_REPRO_SIGKILL_AT") == str(iteration):
        os.kill(os.getpid(), signal.SIGKILL)
    if os.environ.get("PAPER_REPRO_STOP_AT") == str(iteration):
        raise KeyboardInterrupt
