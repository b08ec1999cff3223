"""fit(config): the paper's CIFAR training recipe (§4.2) with a resumable run store.

The recipe: SGD with momentum 0.9 and weight decay 1e-4, batch 128, lr 0.1 divided by 10 at 32k
and 48k iterations, stop at 64k; for ResNet-110/1202 lr 0.01 until the training error is below
80%, then back to 0.1 and the normal schedule. Speed switches (bf16 autocast, channels_last,
torch.compile, cudnn.benchmark, fused/foreach SGD) change how fast the recipe runs, not what it
is.
"""
from __future__ import annotations

import contextlib
import math
import os
import random
import signal
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import store
from .config import RunConfig
from .data import (DeviceLoader, first_n, imagenet_folders, load_tensor_dataset, parse_dataset, pixel_mean,
                   train_val_split)
from .models import build_model
from .progress import bar as progress_bar
from .provenance import cpu_flags, provenance


class Diverged(RuntimeError):
    """The loss became NaN or inf; the run's summary records the iteration."""

    def __init__(self, iteration: int, summary: dict):
        super().__init__(f"loss is not finite at iteration {iteration}: the run diverged")
        self.iteration, self.summary = iteration, summary


@dataclass
class Result:
    run_dir: Path
    config: RunConfig
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


# --------------------------------------------------------------------------- the schedule
def learning_rate(iteration: int, cfg: RunConfig, warming_up: bool = False) -> float:
    """The lr of the step that takes iteration ``iteration`` (0-based) to ``iteration + 1``.

    A pure function: lr 0.1, divided by 10 at each milestone (32k and 48k in §4.2); while the
    warm-up of ResNet-110/1202 is on, 0.01. When the warm-up ends the schedule is the normal one
    again (back to 0.1): a well-known reproduction never returns, which the tests guard against.
    """
    if warming_up:
        return cfg.warmup_lr
    return cfg.lr * cfg.lr_decay ** sum(iteration >= m for m in cfg.milestones)


class WarmupRule:
    """§4.2: "use 0.01 to warm up the training until the training error is below 80% (about 400
    iterations), and then go back to 0.1". The training error is the mean over the last
    ``window`` batches."""

    def __init__(self, cfg: RunConfig):
        self.active = cfg.uses_warmup()
        self.threshold, self.errors = cfg.warmup_until_error, deque(maxlen=cfg.warmup_window)
        self.ended_at: int | None = None

    def update(self, iteration: int, batch_error: float) -> None:
        self.errors.append(batch_error)
        if len(self.errors) == self.errors.maxlen and sum(self.errors) / len(self.errors) < self.threshold:
            self.active, self.ended_at = False, iteration + 1

    def state_dict(self) -> dict:
        return {"active": self.active, "errors": list(self.errors), "ended_at": self.ended_at}

    def load_state_dict(self, s: dict) -> None:
        self.active, self.ended_at = s["active"], s["ended_at"]
        self.errors.clear()
        self.errors.extend(s["errors"])


# --------------------------------------------------------------------------- device choices
@dataclass(frozen=True)
class Speed:
    device: torch.device
    precision: str
    channels_last: bool


def resolve_speed(cfg: RunConfig) -> Speed:
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


def make_optimizer(model: torch.nn.Module, cfg: RunConfig, device: torch.device) -> torch.optim.SGD:
    # Weight decay on every parameter (BN's too), as in the authors' Caffe solver.
    fast = {"fused": True} if device.type == "cuda" else {"foreach": True}
    return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, **fast)


# --------------------------------------------------------------------------- data
@dataclass
class Data:
    train: object
    eval: object
    in_channels: int
    num_classes: int
    train_size: int
    eval_size: int
    eval_name: str
    final_eval: object = None  # the final evaluation's loader when it covers more images than ``eval``
    final_eval_size: int | None = None


def build_data(cfg: RunConfig, speed: Speed, data_root: str = "data", rank: int = 0, world: int = 1) -> Data:
    name, path = parse_dataset(cfg.dataset)
    per_rank = cfg.batch_size // world
    if name == "imagenet":
        return _imagenet_data(cfg, path, speed, rank, world)
    train = load_tensor_dataset(name, data_root, train=True)
    if cfg.split == "val":
        tr, va = train_val_split(len(train), min(cfg.val_size, len(train) // 2), seed=0)
        train, held_out, eval_name = train.subset(tr), train.subset(va), "val"
    else:
        held_out, eval_name = load_tensor_dataset(name, data_root, train=False), "test"
    # fixed subsets (seed 0): every seed and every depth of a profile sees the same images
    whole = held_out
    train, held_out = first_n(train, cfg.train_subset, 0), first_n(held_out, cfg.eval_subset, 1)
    final = first_n(whole, cfg.final_eval_subset, 1)
    mean = pixel_mean(train.images)
    tl = DeviceLoader(train, per_rank * world, mean, speed.device, train=True, seed=cfg.seed,
                      channels_last=speed.channels_last, rank=rank, world_size=world)

    def loader(d):
        return DeviceLoader(d, 500 * world, mean, speed.device, train=False, channels_last=speed.channels_last,
                            rank=rank, world_size=world)

    data = Data(tl, loader(held_out), train.images.shape[1], len(train.classes), len(train), len(held_out), eval_name)
    if len(final) > len(held_out):  # Table 6's number: the whole split, not the curves' subset
        data.final_eval, data.final_eval_size = loader(final), len(final)
    return data


class FolderLoader:
    """A resumable DataLoader over an ImageFolder: the epoch's order is a seeded permutation and
    the state is (epoch, position), as for DeviceLoader."""

    def __init__(self, dataset, batch_size, seed, workers, train, device, channels_last, rank=0, world=1, subset=None):
        self.dataset, self.batch_size, self.seed, self.workers = dataset, batch_size, seed, workers
        self.train, self.device, self.channels_last, self.rank, self.world = train, device, channels_last, rank, world
        self.n = len(dataset) if subset is None else min(subset, len(dataset))
        self.epoch, self.position = 0, 0

    def __len__(self):
        return self.n // self.batch_size if self.train else -(-self.n // self.batch_size)

    state_dict = DeviceLoader.state_dict
    load_state_dict = DeviceLoader.load_state_dict

    def __iter__(self):
        if self.train:
            order = torch.randperm(len(self.dataset), generator=torch.Generator().manual_seed(self.seed * 7919 + self.epoch))[: self.n]
        else:
            order = torch.arange(self.n)
        batches = [order[i * self.batch_size:(i + 1) * self.batch_size] for i in range(self.position, len(self))]
        batches = [b.tensor_split(self.world)[self.rank].tolist() for b in batches]
        loader = torch.utils.data.DataLoader(
            self.dataset, batch_sampler=batches, num_workers=self.workers, pin_memory=self.device.type == "cuda",
            generator=torch.Generator().manual_seed(self.seed * 104729 + self.epoch * 1009 + self.position))
        for x, y in loader:
            self.position += 1
            x = x.to(self.device, non_blocking=True)
            if self.channels_last and x.dim() == 4:
                x = x.contiguous(memory_format=torch.channels_last)
            yield x, y.to(self.device, non_blocking=True)
        self.epoch, self.position = self.epoch + 1, 0

    forever = DeviceLoader.forever


def _imagenet_data(cfg, path, speed, rank, world) -> Data:
    train, val = imagenet_folders(path)
    per_rank = cfg.batch_size // world
    tl = FolderLoader(train, per_rank * world, cfg.seed, cfg.workers, True, speed.device, speed.channels_last, rank, world,
                      cfg.train_subset)
    el = FolderLoader(val, 25 * world, 0, cfg.workers, False, speed.device, False, rank, world, cfg.eval_subset)
    return Data(tl, el, 3, len(train.classes), tl.n, el.n, "val")


# --------------------------------------------------------------------------- distributed
def _distributed() -> tuple[int, int]:
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


def _all_sum(t: torch.Tensor, world: int) -> torch.Tensor:
    if world > 1:
        import torch.distributed as dist

        dist.all_reduce(t)
    return t


def _barrier(world: int) -> None:
    if world > 1:
        import torch.distributed as dist

        dist.barrier()


# --------------------------------------------------------------------------- evaluation
@torch.no_grad()
def evaluate(model: torch.nn.Module, loader, speed: Speed, world: int = 1) -> dict:
    """Top-1 error (and loss) on the held-out set; 10-crop batches (B, 10, C, H, W) average the
    softmax over the crops (§4.1). Top-5 error is reported when there are more than 5 classes."""
    was_training = model.training
    model.eval()
    sums = torch.zeros(4, dtype=torch.float64, device=speed.device)  # n, loss, top1 wrong, top5 wrong
    for x, y in loader:
        with autocast(speed):
            if x.dim() == 5:
                b, k = x.shape[:2]
                prob = model(x.flatten(0, 1)).float().softmax(1).view(b, k, -1).mean(1)
                logp = prob.clamp_min(1e-12).log()
            else:
                logp = model(x).float().log_softmax(1)
        loss = F.nll_loss(logp, y, reduction="sum")
        top = logp.topk(min(5, logp.shape[1]), 1).indices
        sums += torch.stack([torch.tensor(float(len(y)), device=speed.device, dtype=torch.float64), loss.double(),
                             (top[:, 0] != y).sum().double(), (~(top == y[:, None]).any(1)).sum().double()])
    model.train(was_training)
    n, loss, wrong1, wrong5 = _all_sum(sums, world).tolist()
    out = {"eval_error": wrong1 / n, "eval_loss": loss / n}
    if logp.shape[1] > 5:
        out["eval_top5_error"] = wrong5 / n
    return out


# --------------------------------------------------------------------------- checkpoint state
def _rng_state() -> dict:
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def _set_rng_state(s: dict) -> None:
    torch.set_rng_state(s["torch"])
    np.random.set_state(s["numpy"])
    random.setstate(s["python"])
    if s.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])


def _maybe_test_kill(iteration: int) -> None:
    # Test hook: the resume test sends the run a real SIGKILL at a chosen iteration.
    at = os.environ.get("PAPER_REPRO_SIGKILL_AT")
    if at is not None and iteration == int(at):
        os.kill(os.getpid(), signal.SIGKILL)


# --------------------------------------------------------------------------- fit
SUMMARY_METRICS = ("final_train_error", "final_train_loss", "final_eval_error", "final_eval_loss", "best_eval_error",
                   "iterations_done", "warmup_ended_at", "status", "diverged_at")


def fit(cfg: RunConfig, out: str | os.PathLike = "runs", data_root: str = "data", progress: bool | None = None,
        log=None) -> Result:
    """Train ``cfg`` to the end, or return its stored result, or resume it from its last good
    checkpoint. Raises :class:`Diverged` (after writing the summary) when the loss is NaN/inf."""
    cfg.validate()
    rank, world = _distributed()
    if cfg.batch_size % world:
        raise ValueError(f"batch size {cfg.batch_size} must be divisible by the number of processes ({world})")
    main = rank == 0
    log = log or (lambda msg: print(msg, file=sys.stderr))
    directory = store.run_dir(cfg, out)
    stored = stored_result(directory, cfg)
    if stored is not None:
        return stored

    speed = resolve_speed(cfg)
    if speed.device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    data = build_data(cfg, speed, data_root, rank, world)  # data first: a missing data set writes nothing
    with store.run_lock(directory, log) if main else contextlib.nullcontext():
        _barrier(world)  # every rank looks at the run only once rank 0 holds its lock
        stored = stored_result(directory, cfg)  # finished while this process waited for the lock
        if stored is not None:
            return stored
        return _train(cfg, directory, data, speed, rank, world, log, progress)


def _train(cfg: RunConfig, directory: Path, data, speed, rank: int, world: int, log, progress) -> Result:
    """The body of :func:`fit`, run by the one process that holds the run's lock."""
    main = rank == 0
    if main:
        directory.mkdir(parents=True, exist_ok=True)
        config_path = directory / "config.json"
        if not config_path.exists():
            store.atomic_write_json(config_path, cfg.to_dict())
    _barrier(world)

    torch.manual_seed(cfg.seed)  # decides the He initialisation
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    model = build_model(cfg.model, num_classes=data.num_classes, in_channels=data.in_channels).to(speed.device)
    if speed.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, cfg, speed.device)
    warmup = WarmupRule(cfg)
    start, elapsed, resumed_from = 0, 0.0, None

    state = store.load_latest_checkpoint(directory, log) if directory.exists() else None
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        warmup.load_state_dict(state["warmup"])
        data.train.load_state_dict(state["loader"])
        _set_rng_state(state["rng"])
        start, elapsed, resumed_from = state["iteration"], state["elapsed"], state["iteration"]
        if main:
            store.truncate_metrics(directory, start)
            log(f"paper_repro: resuming run {directory.parent.name}/{directory.name} from iteration {start}")
    elif main and (directory / "metrics.jsonl").exists():
        store.truncate_metrics(directory, 0)  # no usable checkpoint: start over
    _barrier(world)

    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[speed.device.index] if speed.device.type == "cuda" else None)
    if cfg.compile:
        net = torch.compile(net)

    bar = progress_bar(cfg.iterations, start, f"{cfg.model} seed {cfg.seed}", progress, enabled=main)
    batches = data.train.forever()
    sums = torch.zeros(3, dtype=torch.float64, device=speed.device)  # images, loss sum, wrong
    pending_losses: list[torch.Tensor] = []
    interval_images, interval_time, t0 = 0, 0.0, time.perf_counter()
    speeds: list[float] = []
    records = store.read_metrics(directory) if main else []
    check_every = 1 if speed.device.type == "cpu" else 25

    def finish(status: str, iteration: int, diverged_at: int | None = None) -> dict:
        last = records[-1] if records else {}
        steady = speeds[1:] or speeds
        summary = {
            "status": status, "diverged_at": diverged_at, "iterations_done": iteration,
            "model": cfg.model, "dataset": cfg.dataset, "eval_split": data.eval_name, "seed": cfg.seed,
            "train_images": data.train_size, "eval_images": data.eval_size,
            "final_train_error": last.get("train_error"), "final_train_loss": last.get("train_loss"),
            # the final errors on the whole split where the curves used a subset (final_eval_subset)
            "final_eval_error": last.get("final_eval_error", last.get("eval_error")),
            "final_eval_loss": last.get("final_eval_loss", last.get("eval_loss")),
            "final_eval_top5_error": last.get("final_eval_top5_error", last.get("eval_top5_error")),
            "final_eval_images": data.final_eval_size or data.eval_size,
            "best_eval_error": min((r["eval_error"] for r in records), default=None),
            "warmup_ended_at": warmup.ended_at, "images_per_sec": (sum(steady) / len(steady)) if steady else None,
            "wall_time_s": elapsed, "device": str(speed.device), "precision": speed.precision,
            "channels_last": speed.channels_last, "processes": world, "config_hash": cfg.hash(), **provenance(speed.device),
        }
        if main:
            store.atomic_write_json(directory / "summary.json", summary)
        return summary

    it = start
    try:
        for it in range(start, cfg.iterations):
            lr = learning_rate(it, cfg, warmup.active)
            for group in optimizer.param_groups:
                group["lr"] = lr
            x, y = next(batches)
            with autocast(speed):
                logits = net(x)
                loss = F.cross_entropy(logits.float(), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            wrong = (logits.detach().argmax(1) != y).sum()
            sums += torch.stack([torch.tensor(float(len(y)), dtype=torch.float64, device=speed.device),
                                 loss.detach().double() * len(y), wrong.double()])
            pending_losses.append(loss.detach())
            interval_images += len(y) * world
            if warmup.active:
                wrong_all = _all_sum(torch.stack([wrong.double(), torch.tensor(float(len(y)), dtype=torch.float64,
                                                                                device=speed.device)]), world)
                warmup.update(it, float(wrong_all[0] / wrong_all[1]))
            done_it = it + 1
            at_eval = done_it % cfg.eval_interval == 0 or done_it == cfg.iterations
            if at_eval or len(pending_losses) >= check_every:
                bad = _first_nonfinite(pending_losses, world)
                if bad is not None:
                    diverged_at = done_it - len(pending_losses) + bad
                    summary = finish("diverged", diverged_at, diverged_at)
                    raise Diverged(diverged_at, summary)
                pending_losses.clear()
            if not bar.disable and done_it % 10 == 0:
                bar.set_postfix(lr=f"{lr:g}", loss=f"{float(loss):.3f}", refresh=False)
            bar.update(1)
            if at_eval:
                if speed.device.type == "cuda":
                    torch.cuda.synchronize()
                dt = time.perf_counter() - t0
                interval_time += dt
                elapsed += dt
                totals = _all_sum(sums.clone(), world).tolist()
                ev = evaluate(net, data.eval, speed, world)
                if done_it == cfg.iterations and data.final_eval is not None:
                    ev.update({f"final_{k}": v for k, v in evaluate(net, data.final_eval, speed, world).items()})
                record = {"iteration": done_it, "lr": lr, "train_error": totals[2] / totals[0],
                          "train_loss": totals[1] / totals[0], **ev, "images_per_sec": interval_images / interval_time,
                          "epoch": data.train.epoch + data.train.position / max(1, len(data.train))}
                speeds.append(record["images_per_sec"])
                sums.zero_()
                interval_images, interval_time = 0, 0.0
                if main:
                    records.append(record)
                    store.append_metrics(directory, record)
                    bar.set_postfix(lr=f"{lr:g}", err=f"{record['train_error']:.3f}", eval=f"{ev['eval_error']:.3f}",
                                    ips=f"{record['images_per_sec']:.0f}")
                    if done_it % cfg.checkpoint_interval == 0 or done_it == cfg.iterations:
                        store.save_checkpoint(directory, done_it, {
                            "model": model.state_dict(), "optimizer": optimizer.state_dict(), "iteration": done_it,
                            "warmup": warmup.state_dict(), "loader": data.train.state_dict(), "rng": _rng_state(),
                            "elapsed": elapsed, "config": cfg.to_dict()})
                _barrier(world)
                t0 = time.perf_counter()
            _maybe_test_kill(done_it)
    finally:
        bar.close()
    summary = finish("finished", cfg.iterations)
    return Result(directory, cfg, summary, records if main else [], cached=False, resumed_from=resumed_from)


def _first_nonfinite(losses: list[torch.Tensor], world: int) -> int | None:
    """Index of the first NaN/inf loss in the list (all processes agree), or None."""
    finite = torch.isfinite(torch.stack(losses).float())
    idx = torch.nonzero(~finite)
    first = torch.tensor([float(idx[0, 0]) if len(idx) else math.inf], dtype=torch.float64, device=finite.device)
    if world > 1:
        import torch.distributed as dist

        dist.all_reduce(first, op=dist.ReduceOp.MIN)
    v = float(first)
    return None if math.isinf(v) else int(v)


def load_model(result: Result, device: str | torch.device = "cpu") -> torch.nn.Module:
    """The trained network of a finished run, in eval mode, from its last checkpoint."""
    state = store.load_latest_checkpoint(result.run_dir)
    if state is None:
        raise FileNotFoundError(f"no usable checkpoint in {result.run_dir}")
    cfg = result.config
    name, _ = parse_dataset(cfg.dataset)
    in_ch = state["model"]["conv1.weight"].shape[1]
    num_classes = state["model"]["fc.weight"].shape[0]
    model = build_model(cfg.model, num_classes=num_classes, in_channels=in_ch)
    model.load_state_dict(state["model"])
    return model.to(device).eval()
