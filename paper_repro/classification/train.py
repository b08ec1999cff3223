"""fit(config): the paper's CIFAR training recipe (§4.2) with a resumable run store.

The recipe: SGD with momentum 0.9 and weight decay 1e-4, batch 128, lr 0.1 divided by 10 at 32k
and 48k iterations, stop at 64k; for ResNet-110/1202 lr 0.01 until the training error is below
80%, then back to 0.1 and the normal schedule. Speed switches (bf16 autocast, channels_last,
torch.compile, cudnn.benchmark, fused/foreach SGD) change how fast the recipe runs, not what it
is. What a run is (the run store, resume, the lock, divergence) lives in ``runs/run.py``, shared
with the detectors of §4.3.
"""

from __future__ import annotations

import os
from collections import deque

import torch
import torch.nn.functional as F

from paper_repro.classification.config import RunConfig
from paper_repro.classification.data import Data, build_data
from paper_repro.models import build_model
from paper_repro.runs import store
from paper_repro.runs.distributed import all_sum, distributed
from paper_repro.runs.registry import register
from paper_repro.runs.run import (
    Diverged,
    Result,
    Run,
    Tally,
    make_optimizer,
    seed_everything,
    set_lr,
    step_decay,
    train_once,
)
from paper_repro.runs.speed import Speed, autocast, resolve_speed


# --------------------------------------------------------------------------- the schedule
def learning_rate(iteration: int, cfg: RunConfig, warming_up: bool = False) -> float:
    """The lr of the step that takes iteration ``iteration`` (0-based) to ``iteration + 1``.

    A pure function: lr 0.1, divided by 10 at each milestone (32k and 48k in §4.2); while the
    warm-up of ResNet-110/1202 is on, 0.01. When the warm-up ends the schedule is the normal one
    again (back to 0.1): a well-known reproduction never returns, which the tests guard against.
    """
    if warming_up:
        return cfg.warmup_lr
    return step_decay(iteration, cfg)


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
        sums += torch.stack(
            [
                torch.tensor(float(len(y)), device=speed.device, dtype=torch.float64),
                loss.double(),
                (top[:, 0] != y).sum().double(),
                (~(top == y[:, None]).any(1)).sum().double(),
            ]
        )
    model.train(was_training)
    n, loss, wrong1, wrong5 = all_sum(sums, world).tolist()
    out = {"eval_error": wrong1 / n, "eval_loss": loss / n}
    if logp.shape[1] > 5:
        out["eval_top5_error"] = wrong5 / n
    return out


# --------------------------------------------------------------------------- fit
@register(RunConfig)
def fit(
    cfg: RunConfig, out: str | os.PathLike = "runs", data_root: str = "data", progress: bool | None = None, log=None
) -> Result:
    """Train ``cfg`` to the end, or return its stored result, or resume it from its last good
    checkpoint (``runs.run.train_once``). Raises :class:`Diverged` (after writing the summary) when
    the loss is NaN/inf."""
    rank, world = distributed()

    def load() -> tuple[Data, Speed]:
        if cfg.batch_size % world:
            raise ValueError(f"batch size {cfg.batch_size} must be divisible by the number of processes ({world})")
        speed = resolve_speed(cfg)
        if speed.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        return build_data(cfg, speed, data_root, rank, world), speed

    return train_once(cfg, out, log, load, lambda run, loaded: _train(run, *loaded, progress), rank, world)


def _train(run: Run, data: Data, speed: Speed, progress) -> Result:
    """§4.2, one iteration at a time, by the one process that holds the run's lock."""
    cfg = run.cfg
    seed_everything(cfg.seed)  # decides the He initialisation
    model = build_model(cfg.model, num_classes=data.num_classes, in_channels=data.in_channels).to(speed.device)
    if speed.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model.parameters(), cfg, speed.device)
    warmup = WarmupRule(cfg)
    speed = run.open({"model": model, "optimizer": optimizer, "warmup": warmup, "loader": data.train}, speed).speed
    net = _parallel(model, cfg, speed, run.world)
    tally, batches = Tally(speed.device, run.world), data.train.forever()
    for it in run.steps(f"{cfg.model} seed {cfg.seed}", progress):
        lr = set_lr(optimizer, learning_rate(it, cfg, warmup.active))
        x, y = next(batches)
        with autocast(speed):
            logits = net(x)
            loss = F.cross_entropy(logits.float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        wrong = (logits.detach().argmax(1) != y).sum()
        tally.add(len(y), loss, loss=loss.detach().double() * len(y), wrong=wrong)
        if warmup.active:  # §4.2: lr 0.01 until the training error is below 80%
            warmup.update(it, _batch_error(wrong, len(y), run.world))
        done = it + 1
        bad = tally.first_nonfinite(done, force=run.at_interval(done, cfg.eval_interval))
        if bad is not None:
            raise Diverged(bad, _summary(run, data, speed, warmup, "diverged", bad))
        run.show(lr=f"{lr:g}", loss=loss)
        if run.at_interval(done, cfg.eval_interval):
            _end_interval(run, done, lr, net, data, speed, tally)
    return run.result(_summary(run, data, speed, warmup, "finished", cfg.iterations))


def _parallel(model: torch.nn.Module, cfg: RunConfig, speed: Speed, world: int) -> torch.nn.Module:
    """The module the step calls: DistributedDataParallel across processes, compiled when asked."""
    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[speed.device.index] if speed.device.type == "cuda" else None
        )
    return torch.compile(net) if cfg.compile else net


def _batch_error(wrong: torch.Tensor, n: int, world: int) -> float:
    """The global batch's training error (the warm-up rule's input), summed over processes."""
    both = all_sum(
        torch.stack([wrong.double(), torch.tensor(float(n), dtype=torch.float64, device=wrong.device)]), world
    )
    return float(both[0] / both[1])


def _end_interval(run: Run, done: int, lr: float, net, data: Data, speed: Speed, tally: Tally) -> None:
    """Every ``eval_interval`` iterations: held-out error, one metrics line, a checkpoint when due."""
    with run.interval(tally, done) as (means, ips):
        ev = evaluate(net, data.eval, speed, run.world)
        if done == run.cfg.iterations and data.final_eval is not None:
            ev.update({f"final_{k}": v for k, v in evaluate(net, data.final_eval, speed, run.world).items()})
        run.record(
            {
                "iteration": done,
                "lr": lr,
                "train_error": means["wrong"],
                "train_loss": means["loss"],
                **ev,
                "images_per_sec": ips,
                "epoch": data.train.epoch + data.train.position / max(1, len(data.train)),
            }
        )
        run.bar.set_postfix(lr=f"{lr:g}", err=f"{means['wrong']:.3f}", eval=f"{ev['eval_error']:.3f}", ips=f"{ips:.0f}")


def _summary(run: Run, data: Data, speed: Speed, warmup: WarmupRule, status: str, iteration: int) -> dict:
    """summary.json: the final errors (on the whole split where the curves used a subset), the
    warm-up and the speed."""
    records = run.records
    last = records[-1] if records else {}
    steady = [r["images_per_sec"] for r in records][1:] or [r["images_per_sec"] for r in records]
    return run.finish(
        status,
        iteration,
        speed,
        {
            "model": run.cfg.model,
            "eval_split": data.eval_name,
            "train_images": data.train_size,
            "eval_images": data.eval_size,
            "final_train_error": last.get("train_error"),
            "final_train_loss": last.get("train_loss"),
            "final_eval_error": last.get("final_eval_error", last.get("eval_error")),
            "final_eval_loss": last.get("final_eval_loss", last.get("eval_loss")),
            "final_eval_top5_error": last.get("final_eval_top5_error", last.get("eval_top5_error")),
            "final_eval_images": data.final_eval_size or data.eval_size,
            "best_eval_error": min((r["eval_error"] for r in records), default=None),
            "warmup_ended_at": warmup.ended_at,
            "images_per_sec": (sum(steady) / len(steady)) if steady else None,
            "channels_last": speed.channels_last,
            "processes": run.world,
        },
    )


def load_model(result: Result, device: str | torch.device = "cpu") -> torch.nn.Module:
    """The trained network of a finished run, in eval mode, from its last checkpoint."""
    state = store.load_latest_checkpoint(result.run_dir)
    if state is None:
        raise FileNotFoundError(f"no usable checkpoint in {result.run_dir}")
    cfg = result.config
    in_ch = state["model"]["conv1.weight"].shape[1]
    num_classes = state["model"]["fc.weight"].shape[0]
    model = build_model(cfg.model, num_classes=num_classes, in_channels=in_ch)
    model.load_state_dict(state["model"])
    return model.to(device).eval()
