"""`bench`: this engine against the training loop most reproductions write.

(a) this engine: ``fit`` itself, with the dataset held on the device, batch augmentation with
    tensor ops, the device's default precision and memory format, foreach/fused SGD, no
    per-iteration host sync;
(b) the usual loop: a DataLoader whose workers take each image as a PIL image (as torchvision's
    dataset classes hand them out) and apply torchvision's per-sample ``RandomCrop(32,
    padding=4)`` and ``RandomHorizontalFlip``, fp32, NCHW, eager, ``loss.item()`` every iteration
    for the running average, as in akamaster/pytorch_resnet_cifar10's trainer.
Both see the same images: per-pixel mean subtracted (§4.2), then padded with zeros (the mean
pixel) and cropped, as ``data.DeviceLoader`` does.

Two measurements:

* speed (``bench``): steady-state images/s of both, same model, batch size and data; warm-up
  iterations and evaluation excluded;
* accuracy (``bench_accuracy``): the same RunConfig (a profile's recipe) trained by both loops for
  the same iterations and seeds, final test error of each, and the difference engine − usual with
  the 95% Welch interval of :func:`paper_repro.paper.claims.verdict`. The device loader, bf16 and
  channels_last must change speed, not results (issue 10, §7).
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.transforms as T
from PIL import Image

from paper_repro.classification.config import RunConfig, get_profile
from paper_repro.classification.train import WarmupRule, fit, learning_rate, resolve_speed
from paper_repro.models import build_model
from paper_repro.paper import claims
from paper_repro.runs import store
from paper_repro.runs.datasets import load_tensor_dataset, pixel_mean, seeded_subset
from paper_repro.runs.provenance import provenance
from paper_repro.runs.speed import native_bf16

ACCURACY_EXPERIMENT = "bench-accuracy"
PAD = 4  # §4.2: 4 pixels padded on each side before the random crop


@dataclass(frozen=True)
class BenchSetup:
    """What a bench command trains or times on: the data set (None: the profile's, or synthetic
    for speed), the batch, the device, and the usual loop's DataLoader workers."""

    dataset: str | None = None
    batch_size: int = 128
    device: str = "auto"
    workers: int = 2


NO_DIFFERENCE = "no difference beyond seed noise"


# --------------------------------------------------------------------------- the usual loop
class PILDataset(torch.utils.data.Dataset):
    """Images as HWC uint8 arrays, each handed out as a PIL image through a transform
    (what ``torchvision.datasets.CIFAR10.__getitem__`` does)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        img = self.images[i]
        img = Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img)
        return self.transform(img), int(self.labels[i])


class SubtractPixelMean:
    """§4.2's per-pixel mean subtraction on one (C, H, W) image in [0, 1] units."""

    def __init__(self, mean: torch.Tensor):
        self.mean = mean

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        return img - self.mean


def usual_loader(
    data,
    mean: torch.Tensor,
    batch_size: int,
    device: torch.device,
    workers: int,
    train: bool = True,
    seed: int = 0,
) -> torch.utils.data.DataLoader:
    """The usual loop's DataLoader over ``data`` (a TensorData): per-sample transforms in the
    workers. The mean is subtracted before the crop, so that padding with zeros pads with the mean
    pixel, as the engine does (cropping the uint8 image first would subtract the mean in the crop's
    frame, a different input)."""

    steps = [T.ToTensor(), SubtractPixelMean(mean)]
    if train:
        steps += [T.RandomCrop(data.images.shape[-1], padding=PAD), T.RandomHorizontalFlip()]
    images = data.images.permute(0, 2, 3, 1).numpy()
    return torch.utils.data.DataLoader(
        PILDataset(images, data.labels.numpy(), T.Compose(steps)),
        batch_size=batch_size,
        shuffle=train,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        drop_last=train,
        persistent_workers=train and workers > 0,
        generator=torch.Generator().manual_seed(seed),
    )


def baseline_images_per_sec(
    model_name: str, data, batch_size: int, device: torch.device, iterations: int, warmup: int, workers: int
) -> float:
    loader = usual_loader(data, pixel_mean(data.images), batch_size, device, workers)
    torch.manual_seed(0)
    model = build_model(model_name, num_classes=len(data.classes), in_channels=data.images.shape[1]).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    model.train()
    done, t0 = 0, None
    while done < iterations + warmup:
        for x, y in loader:
            if done == warmup:
                if device.type == "cuda":
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
            x, y = x.to(device), y.to(device)
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss.item()  # the usual loop reads the loss every step for its running average: a host sync
            done += 1
            if done == iterations + warmup:
                break
    if device.type == "cuda":
        torch.cuda.synchronize()
    return iterations * batch_size / (time.perf_counter() - t0)


@torch.no_grad()
def top1_error(model: torch.nn.Module, loader, device: torch.device) -> float:
    """Top-1 error of ``model`` over every image ``loader`` yields, in eval mode."""
    model.eval()
    wrong = seen = 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        wrong += int((model(x).argmax(1) != y).sum())
        seen += len(y)
    return wrong / seen


def usual_loop_data(cfg: RunConfig, data_root: str = "data"):
    """The training images, the final test images and the per-pixel mean that ``fit`` uses for
    ``cfg`` (the same seeded subsets: ``train_subset`` and ``final_eval_subset``)."""
    if cfg.split != "test":
        raise ValueError(f"the accuracy bench evaluates on the test split, got split {cfg.split!r}")
    train = seeded_subset(load_tensor_dataset(cfg.dataset, data_root, train=True), cfg.train_subset, 0)
    test = seeded_subset(load_tensor_dataset(cfg.dataset, data_root, train=False), cfg.final_eval_subset, 1)
    return train, test, pixel_mean(train.images)


def usual_loop_train(cfg: RunConfig, data_root: str = "data", workers: int = 2) -> float:
    """Train ``cfg`` with the usual loop (DataLoader, per-sample PIL transforms, fp32, NCHW, eager) and
    return the final test error. The recipe is ``cfg``'s, as ``fit`` reads it: the same He
    initialisation (seeded by ``cfg.seed``), SGD with momentum and weight decay, ``learning_rate``'s
    schedule and the 110/1202 warm-up rule."""
    device = resolve_speed(cfg).device
    train, test, mean = usual_loop_data(cfg, data_root)
    torch.manual_seed(cfg.seed)  # the He initialisation fit draws for this seed
    model = build_model(cfg.model, num_classes=len(train.classes), in_channels=train.images.shape[1]).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    warmup = WarmupRule(cfg)
    loader = usual_loader(train, mean, cfg.batch_size, device, workers, train=True, seed=cfg.seed)
    model.train()
    done = 0
    while done < cfg.iterations:
        for x, y in loader:
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(done, cfg, warmup.active)
            x, y = x.to(device), y.to(device)
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss.item()  # the usual loop reads the loss every step for its running average: a host sync
            if warmup.active:
                warmup.update(done, (logits.argmax(1) != y).float().mean().item())
            done += 1
            if done == cfg.iterations:
                break
    return top1_error(model, usual_loader(test, mean, 500, device, workers, train=False), device)


# --------------------------------------------------------------------------- accuracy: engine vs usual
def engine_run(cfg: RunConfig, out: str = "runs", data_root: str = "data") -> dict:
    """``fit(cfg)`` through the run store (cached, resumable); its summary."""
    return fit(cfg, out=out, data_root=data_root).summary


def usual_run(cfg: RunConfig, out: str = "runs", data_root: str = "data", workers: int = 2) -> dict:
    """``usual_loop_train(cfg)``, its result kept beside the engine's runs
    (``<out>/<experiment>/usual-loop/<hash>-w<workers>.json``: the workers decide which worker
    draws which crop) and read back when there."""
    path = Path(out) / cfg.experiment / "usual-loop" / f"{cfg.hash()}-w{workers}.json"
    if path.exists():
        return store.read_json(path)
    t0 = time.perf_counter()
    error = usual_loop_train(cfg, data_root, workers)
    record = {
        "final_eval_error": error,
        "wall_time_s": time.perf_counter() - t0,
        "workers": workers,
        "config": cfg.to_dict(),
        **provenance(resolve_speed(cfg).device),
    }
    store.atomic_write_json(path, record)
    return record


def compare_errors(engine: list[float], usual: list[float]) -> dict:
    """engine − usual test error with :func:`claims.verdict`'s 95% Welch interval, and the sentence
    that says what it shows: "no difference beyond seed noise" exactly when the interval contains 0
    (claims' "not shown"), otherwise which loop is better; no verdict with fewer than 3 seeds."""
    v = claims.verdict(engine, usual, direction=+1)  # "holds" = the engine's error is higher
    if v["low"] is None:
        conclusion = f"{v['label']} (fewer than {claims.MIN_SEEDS} seeds per loop)"
    elif v["label"] == claims.NOT_SHOWN:
        conclusion = NO_DIFFERENCE
    elif v["label"] == claims.HOLDS:
        conclusion = "the usual loop is better: its test error is lower beyond seed noise"
    else:
        conclusion = "the engine is better: its test error is lower beyond seed noise"
    return {
        "engine_errors": list(engine),
        "usual_errors": list(usual),
        "engine_mean": v["mean_a"],
        "usual_mean": v["mean_b"],
        "engine_std": v["std_a"],
        "usual_std": v["std_b"],
        "difference": v["diff"],
        "low": v["low"],
        "high": v["high"],
        "level": v["level"],
        "n": min(v["n_a"], v["n_b"]),
        "conclusion": conclusion,
    }


def bench_accuracy(
    model: str = "resnet20",
    iterations: int | None = None,
    seeds=(0, 1, 2),
    setup: BenchSetup | None = None,
    profile: str = "cpu",
    folders: tuple = ("runs", "data"),
    log=None,
) -> dict:
    """Train ``model`` with the engine and with the usual loop, ``profile``'s recipe, for each seed;
    compare the final test errors (see :func:`compare_errors`). ``folders``: the run store and the
    data folder."""
    setup = setup or BenchSetup()
    (out, data_root), device, batch_size, workers = folders, setup.device, setup.batch_size, setup.workers
    prof = get_profile(profile)
    kw = {"dataset": setup.dataset} if setup.dataset else {}
    configs = [
        prof.run_config(
            model, ACCURACY_EXPERIMENT, seed=s, iterations=iterations, device=device, batch_size=batch_size, **kw
        )
        for s in seeds
    ]
    log = log or (lambda msg: None)
    engine, usual = [], []
    for cfg in configs:
        engine.append(engine_run(cfg, out, data_root))
        log(f"engine     seed {cfg.seed}: test error {engine[-1]['final_eval_error']:.4f}")
        usual.append(usual_run(cfg, out, data_root, workers))
        log(f"usual loop seed {cfg.seed}: test error {usual[-1]['final_eval_error']:.4f}")
    first = engine[0]
    return {
        "model": model,
        "dataset": configs[0].dataset,
        "profile": profile,
        "iterations": configs[0].iterations,
        "seeds": list(seeds),
        "test_images": first["final_eval_images"],
        "train_images": first["train_images"],
        "device": first["device"],
        "hardware": first["hardware"],
        "commit": first["commit"],
        "engine_precision": first["precision"],
        "engine_channels_last": first["channels_last"],
        "usual_workers": workers,
        "engine_wall_s": [e["wall_time_s"] for e in engine],
        "usual_wall_s": [u["wall_time_s"] for u in usual],
        **compare_errors([e["final_eval_error"] for e in engine], [u["final_eval_error"] for u in usual]),
    }


def accuracy_report(r: dict) -> str:
    """``bench_accuracy``'s result as a small table, its conclusion, and one JSON line."""
    pt = lambda x: f"{100 * x:+.2f} pt"
    lines = [
        f"model {r['model']}, {r['dataset']} ({r['train_images']} training images, final test error on "
        f"{r['test_images']}), {r['profile']} profile's recipe, {r['iterations']} iterations, {r['device']} "
        f"({r['hardware']}), commit {r['commit']}",
        f"engine: device-resident data, batch crop+flip, {r['engine_precision']}, "
        f"channels_last={r['engine_channels_last']}; usual loop: DataLoader ({r['usual_workers']} workers), "
        "per-sample crop+flip, fp32, NCHW",
        "",
        "| seed | engine | usual loop | engine − usual |",
        "|---|---|---|---|",
    ]
    for s, e, u in zip(r["seeds"], r["engine_errors"], r["usual_errors"]):
        lines.append(f"| {s} | {100 * e:.2f}% | {100 * u:.2f}% | {pt(e - u)} |")
    sd = lambda x: f" ± {100 * x:.2f}" if x is not None else ""
    lines.append(
        f"| mean | {100 * r['engine_mean']:.2f}{sd(r['engine_std'])}% | "
        f"{100 * r['usual_mean']:.2f}{sd(r['usual_std'])}% | {pt(r['difference'])} |"
    )
    interval = f" ({r['level']:.0%} Welch interval {pt(r['low'])} to {pt(r['high'])})" if r["low"] is not None else ""
    lines += [
        "",
        f"engine − usual test error: {pt(r['difference'])}{interval}, n = {r['n']} seeds per loop: {r['conclusion']}",
        json.dumps(r, sort_keys=True),
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- speed
def engine_timing(
    model_name: str,
    dataset: str,
    batch_size: int,
    device: str,
    iterations: int,
    warmup: int,
    switch: dict | None = None,
) -> dict:
    """``fit`` for ``warmup`` + ``iterations`` iterations in a temporary run store; the steady-state
    images/s (every interval after the first) and the first interval's seconds (the warm-up, with
    torch.compile's compilation when the ``switch`` compiles), evaluation excluded. ``switch``:
    precision, channels_last and compile (a row of :func:`switch_settings`; default: auto, eager)."""
    switch = {"precision": "auto", "channels_last": "auto", "compile": False, **(switch or {})}
    interval = max(1, min(warmup, iterations // 4))
    total = interval + (iterations // interval) * interval  # first interval = warm-up, excluded by fit
    cfg = RunConfig(
        model=model_name,
        dataset=dataset,
        experiment="bench",
        iterations=total,
        batch_size=batch_size,
        milestones=(total,),
        eval_interval=interval,
        checkpoint_interval=total,
        eval_subset=500,
        device=device,
        compile=switch["compile"],
        precision=switch["precision"],
        channels_last=switch["channels_last"],
    )
    with tempfile.TemporaryDirectory() as out:
        result = fit(cfg, out=out, progress=False)
    first = result.metrics[0]
    return {
        "images_per_sec": result.summary["images_per_sec"],
        "summary": result.summary,
        "warmup_iterations": interval,
        "timed_iterations": total - interval,
        "warmup_s": interval * batch_size / first["images_per_sec"],
    }


def engine_images_per_sec(
    model_name: str, dataset: str, batch_size: int, device: str, iterations: int, warmup: int, compile: bool = False
) -> tuple[float, dict]:
    t = engine_timing(model_name, dataset, batch_size, device, iterations, warmup, {"compile": compile})
    return t["images_per_sec"], t["summary"]


# --------------------------------------------------------------------------- speed switches
def switch_settings(threads=(1, 2), compile: bool = True) -> list[dict]:
    """The settings ``bench --switches`` times: precision bf16/fp32 × channels_last on/off (torch's
    current thread count), torch.compile (inductor) on the default setting, and the default setting
    at each thread count of ``threads``."""
    default = torch.get_num_threads()
    out = [
        {"precision": p, "channels_last": c, "compile": False, "threads": default}
        for p in ("bf16", "fp32")
        for c in ("on", "off")
    ]
    if compile:
        out.append({"precision": "auto", "channels_last": "auto", "compile": True, "threads": default})
    out += [{"precision": "auto", "channels_last": "auto", "compile": False, "threads": n} for n in threads]
    return out


def bench_switches(
    nets=("resnet20", "resnet56"),
    setup: BenchSetup | None = None,
    iterations: int | None = None,
    threads=(1, 2),
    compile: bool = True,
    log=None,
) -> dict:
    """Steady-state training images/s of each net under each speed switch of :func:`switch_settings`
    on this machine; warm-up iterations (and compile time) excluded from the rate, reported beside it."""
    setup = setup or BenchSetup()
    batch_size, device, dataset = setup.batch_size, setup.device, setup.dataset or "synthetic"
    warmup = None
    speed = resolve_speed(RunConfig(device=device))
    gpu = speed.device.type == "cuda"
    iterations = iterations or (300 if gpu else 40)
    warmup = warmup or (50 if gpu else 8)
    log = log or (lambda msg: None)
    before = torch.get_num_threads()
    rows, summary = [], None
    try:
        for net in nets:
            for s in switch_settings(threads, compile):
                torch.set_num_threads(s["threads"])
                switch = {k: s[k] for k in ("precision", "channels_last", "compile")}
                t = engine_timing(net, dataset, batch_size, str(speed.device), iterations, warmup, switch)
                summary = t["summary"]
                rows.append(
                    {
                        "net": net,
                        **s,
                        "resolved_precision": summary["precision"],
                        "resolved_channels_last": summary["channels_last"],
                        "images_per_sec": t["images_per_sec"],
                        "warmup_s": t["warmup_s"],
                        "warmup_iterations": t["warmup_iterations"],
                        "timed_iterations": t["timed_iterations"],
                    }
                )
                log(f"{net} {s}: {t['images_per_sec']:.1f} images/s (warm-up {t['warmup_s']:.1f} s)")
    finally:
        torch.set_num_threads(before)
    return {
        "nets": list(nets),
        "batch_size": batch_size,
        "dataset": dataset,
        "device": str(speed.device),
        "hardware": summary["hardware"].rsplit(",", 1)[0] if summary else None,
        # what precision auto picks on this CPU, and why bf16 may be slow here (emulated)
        "native_bf16": None if gpu else native_bf16(),
        "commit": summary["commit"] if summary else None,
        "torch": torch.__version__,
        "iterations": iterations,
        "warmup": warmup,
        "rows": rows,
    }


def bench(
    model: str = "resnet20",
    batch_size: int = 128,
    device: str = "auto",
    dataset: str = "synthetic",
    iterations: int | None = None,
    warmup: int | None = None,
    workers: int = 2,
) -> dict:
    speed = resolve_speed(RunConfig(device=device))
    gpu = speed.device.type == "cuda"
    iterations = iterations or (300 if gpu else 40)
    warmup = warmup or (50 if gpu else 8)
    data = load_tensor_dataset(dataset, train=True)
    ours, summary = engine_images_per_sec(model, dataset, batch_size, str(speed.device), iterations, warmup)
    base = baseline_images_per_sec(model, data, batch_size, speed.device, iterations, warmup, workers)
    return {
        "model": model,
        "batch_size": batch_size,
        "dataset": dataset,
        "device": str(speed.device),
        "hardware": summary["hardware"],
        "commit": summary["commit"],
        "iterations": iterations,
        "warmup": warmup,
        "engine_images_per_sec": ours,
        "engine_precision": summary["precision"],
        "engine_channels_last": summary["channels_last"],
        "baseline_images_per_sec": base,
        "baseline_workers": workers,
        "ratio": ours / base,
    }
