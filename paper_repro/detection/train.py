"""fit_detector(config): Faster R-CNN training (§4.3) through the run store.

A run lives in ``runs/<experiment>/<config hash>/`` with config.json, metrics.jsonl (losses every
``log_interval`` iterations, mAP every ``eval_interval``), checkpoints (model, optimizer, loader
position, RNG, elapsed time) and summary.json. A finished run returns its stored summary at
once; an interrupted one resumes from its last good checkpoint; a NaN/inf loss writes a
"diverged" summary and raises :class:`~paper_repro.train.Diverged`.

The recipe (``full`` profile, VOC 07+12, Table 7) is Faster R-CNN's [Ren et al. 2015, §4]: SGD,
momentum 0.9, weight decay 5e-4, lr 0.001 for 60k mini-batches then 0.0001 for 20k, one image
per mini-batch, shorter side 600 (longer at most 1000), horizontal flips, 256 anchors per image
for the RPN and 128 RoIs per image for the detector (a quarter foreground), 3 scales x 3 aspect
ratios of anchors, NMS 0.7 for proposals and 300 proposals at test time. For COCO (Table 8) the
paper's Appendix A: lr 0.001 for 240k iterations then 0.0001 for 80k, 8 images per mini-batch.
torchvision trains the RPN and the detector jointly (approximate joint training), not with the
4-step alternation.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import store
from ..progress import bar as progress_bar
from ..provenance import provenance
from ..config import check_common
from ..train import Diverged, Result, _rng_state, _set_rng_state, autocast, resolve_speed, stored_result
from .backbones import BACKBONES, DEFAULT_ROI_SIZE, build_faster_rcnn
from .data import DEFAULT_SPLITS, DetectionLoader, build_detection_data, parse_detection_dataset, training_target
from .evaluate import coco_map, voc07_map

SAMPLE_IMAGES = 8  # held-out images whose detections are kept for the book's figure


@functools.lru_cache(maxsize=16)
def _file_digest(path: str, size: int, mtime: float) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def file_digest(path: str) -> str:
    st = os.stat(path)
    return _file_digest(str(Path(path).resolve()), st.st_size, st.st_mtime)


@dataclass(frozen=True)
class DetectConfig:
    """Everything that decides a detection run's result; saved as config.json."""

    backbone: str = "resnet101"        # resnet101 | vgg16
    dataset: str = "voc:data/voc"      # fashion-canvas | voc:PATH | coco:PATH
    experiment: str = "detection"
    pretrained: str = ""               # a torchvision ImageNet state-dict file; "" = from scratch
    train_split: str = ""              # "" = the dataset's default (VOC: 2007-trainval+2012-trainval)
    eval_split: str = ""               # "" = the dataset's default (VOC: 2007-test; COCO: val2017)
    train_images: int | None = None    # smaller profiles: a seeded subset / that many canvases
    eval_images: int | None = None
    # Fashion-MNIST canvases
    canvas_size: int = 128
    min_items: int = 1
    max_items: int = 3
    min_scale: float = 1.0
    max_scale: float = 2.0
    # schedule (Faster R-CNN on VOC: lr 0.001 for 60k, 0.0001 for 20k; momentum 0.9, wd 5e-4)
    iterations: int = 80000
    batch_size: int = 1                # images per mini-batch
    lr: float = 0.001
    milestones: tuple[int, ...] = (60000,)
    lr_decay: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    warmup_iterations: int = 0         # linear warm-up from lr/10 (0: none, as in the paper)
    # the detector
    frozen_bn: str = "auto"            # auto: frozen with pretrained weights (the paper), learned from scratch
    zero_init_residual: bool = False   # from scratch: each bottleneck starts as the identity (Goyal et al.)
    roi_op: str = "pool"               # pool: Fast R-CNN's RoI pooling (the paper) | align
    roi_size: int = 0                  # 0: 14 for ResNet-101 (conv5_1 then strides to 7x7), 7 for VGG-16
    min_size: int = 600                # shorter image side (Faster R-CNN: 600)
    max_size: int = 1000               # longer side at most (Faster R-CNN: 1000)
    anchor_sizes: tuple[int, ...] = (128, 256, 512)
    aspect_ratios: tuple[float, ...] = (0.5, 1.0, 2.0)
    rpn_batch_size_per_image: int = 256
    rpn_pre_nms_top_n_train: int = 12000
    rpn_post_nms_top_n_train: int = 2000
    rpn_pre_nms_top_n_test: int = 6000
    rpn_post_nms_top_n_test: int = 300
    box_batch_size_per_image: int = 128
    box_positive_fraction: float = 0.25
    box_score_thresh: float = 0.05
    box_detections_per_img: int = 100
    hflip: bool = True
    # bookkeeping and speed
    log_interval: int = 20             # metrics.jsonl gets the mean losses every N iterations
    eval_interval: int = 0             # mAP every N iterations (0: only at the end)
    checkpoint_interval: int = 1000    # a multiple of log_interval
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"            # auto | fp32 | bf16 (autocast; weights and SGD stay fp32)
    channels_last: str = "off"
    workers: int = 4                   # DataLoader workers for VOC/COCO images

    # ---- derived
    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        for k in ("milestones", "anchor_sizes", "aspect_ratios"):
            d[k] = list(d[k])
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "DetectConfig":
        d = dict(d)
        for k in ("milestones", "anchor_sizes", "aspect_ratios"):
            if k in d:
                d[k] = tuple(d[k])
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def replace(self, **kw) -> "DetectConfig":
        return dataclasses.replace(self, **kw)

    def hash(self) -> str:
        """Identity of a run: every field that can change its result. The pretrained weights
        count by their content (a sha256), not by where the file lies."""
        d = self.to_dict()
        for k in ("experiment", "checkpoint_interval", "workers", "log_interval"):
            d.pop(k)
        d["pretrained"] = file_digest(self.pretrained) if self.pretrained else ""
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]

    def run_dir(self, out: str | os.PathLike = "runs") -> Path:
        return Path(out) / self.experiment / self.hash()

    def splits(self) -> tuple[str, str]:
        name, _ = parse_detection_dataset(self.dataset)
        train, held_out = DEFAULT_SPLITS[name]
        return self.train_split or train, self.eval_split or held_out

    def roi(self) -> int:
        return self.roi_size or DEFAULT_ROI_SIZE[self.backbone]

    def uses_frozen_bn(self) -> bool:
        return self.frozen_bn == "on" or (self.frozen_bn == "auto" and bool(self.pretrained))

    def validate(self) -> "DetectConfig":
        """Raise ValueError (one line, naming what is allowed) for any bad field."""
        if self.backbone not in BACKBONES:
            raise ValueError(f"unknown backbone {self.backbone!r}; allowed: {', '.join(BACKBONES)}")
        parse_detection_dataset(self.dataset)
        if self.pretrained and not Path(self.pretrained).is_file():
            raise ValueError(f"pretrained weights {self.pretrained!r} not found: give a torchvision state-dict file "
                             f"(e.g. resnet101-63fe2227.pth, vgg16-397923af.pth) or nothing to train from scratch")
        for name in ("iterations", "batch_size", "log_interval", "checkpoint_interval", "canvas_size", "min_items",
                     "max_items", "min_size", "max_size", "rpn_batch_size_per_image", "box_batch_size_per_image",
                     "rpn_pre_nms_top_n_train", "rpn_post_nms_top_n_train", "rpn_pre_nms_top_n_test",
                     "rpn_post_nms_top_n_test", "box_detections_per_img"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        for name in ("eval_interval", "warmup_iterations", "roi_size"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {v!r}")
        if not self.lr > 0 or not 0 < self.lr_decay <= 1 or self.weight_decay < 0 or not 0 <= self.momentum < 1:
            raise ValueError("need lr > 0, lr_decay in (0, 1], weight_decay >= 0 and momentum in [0, 1)")
        if self.min_items > self.max_items or not 0 < self.min_scale <= self.max_scale:
            raise ValueError("need min_items <= max_items and 0 < min_scale <= max_scale")
        if 28 * self.max_scale > self.canvas_size:
            raise ValueError(f"items of up to {28 * self.max_scale:.0f} pixels do not fit a {self.canvas_size}-pixel canvas")
        check_common(self, {"frozen_bn": ("auto", "on", "off"), "roi_op": ("pool", "align")},
                     optional_counts=("train_images", "eval_images"), log_every="log_interval")
        if self.pretrained and self.backbone == "vgg16" and self.roi() != 7:
            raise ValueError("VGG-16's ImageNet fc6 needs roi_size 7 (pool5 is 7x7)")
        return self


# --------------------------------------------------------------------------- profiles
CANVAS_COMMON = dict(dataset="fashion-canvas", min_size=0, max_size=0, anchor_sizes=(16, 32, 64), hflip=True)

PROFILES = {
    # CI: the whole chapter in well under 2 minutes: a handful of iterations on tiny canvases.
    "smoke": dict(canvas_size=64, min_items=1, max_items=2, min_scale=1.0, max_scale=1.5, train_images=64,
                  eval_images=16, iterations=4, batch_size=2, lr=0.04, milestones=(3,), warmup_iterations=0,
                  weight_decay=1e-4, zero_init_residual=True, roi_op="align", roi_size={"resnet101": 6, "vgg16": 3}, rpn_batch_size_per_image=32,
                  rpn_pre_nms_top_n_train=200, rpn_post_nms_top_n_train=50, rpn_pre_nms_top_n_test=100,
                  rpn_post_nms_top_n_test=20, box_batch_size_per_image=16, box_positive_fraction=0.25,
                  log_interval=2, checkpoint_interval=2, box_score_thresh=0.01),
    # 2 CPU cores, both backbones in under 10 minutes, from scratch (no weights can be downloaded).
    # lr 0.04 was picked by comparing mAP on the held-out canvases (at 0.02 VGG-16 was ahead of
    # ResNet-101); the chapter says so. There is no separate validation split for this choice.
    "cpu": dict(canvas_size=96, min_items=1, max_items=3, min_scale=1.0, max_scale=1.6, train_images=4000,
                eval_images=200, iterations=600, batch_size=2, lr=0.04, milestones=(450,), warmup_iterations=50,
                weight_decay=1e-4, zero_init_residual=True, roi_op="align", roi_size={"resnet101": 6, "vgg16": 3},
                rpn_batch_size_per_image=64, rpn_pre_nms_top_n_train=300, rpn_post_nms_top_n_train=100,
                rpn_pre_nms_top_n_test=200, rpn_post_nms_top_n_test=50, box_batch_size_per_image=16,
                box_positive_fraction=0.25, log_interval=20, checkpoint_interval=200, box_score_thresh=0.01),
    # A GPU: Table 7 on VOC 07+12 with ImageNet weights, Faster R-CNN's recipe (the defaults above).
    "full": dict(),
}
# Table 8 on COCO (full profile only): Appendix A's schedule (lr 0.001 for 240k iterations, 0.0001 for
# 80k; 8 images per RPN mini-batch, one joint batch here), Faster R-CNN's 4 anchor scales for COCO.
COCO_FULL = dict(iterations=320000, milestones=(240000,), batch_size=8, anchor_sizes=(64, 128, 256, 512))
PROFILE_NAMES = tuple(PROFILES)


def profile_config(profile: str, backbone: str, dataset: str = "fashion-canvas", pretrained: str = "",
                   experiment: str = "detection", seed: int = 0, iterations: int | None = None, **kw) -> DetectConfig:
    """The DetectConfig a profile gives ``backbone`` on ``dataset``.

    On the canvases every profile uses its own scale (``full`` uses the ``cpu`` settings there:
    the canvases are a stand-in, not the paper's data). On VOC and COCO every profile keeps
    Faster R-CNN's recipe, shortened for smoke/cpu to the profile's number of iterations and
    images.
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; allowed: {', '.join(PROFILES)}")
    name, _ = parse_detection_dataset(dataset)
    if name == "fashion-canvas":
        p = dict(PROFILES[profile] or PROFILES["cpu"])
        p.update(CANVAS_COMMON, dataset=dataset)
        p["min_size"] = p["max_size"] = p["canvas_size"]  # the detector sees canvases at their own size
    else:
        p = dict(COCO_FULL) if name == "coco" else {}
        p["dataset"] = dataset
        if profile != "full":
            small = PROFILES[profile]
            p.update(iterations=small["iterations"], train_images=small["train_images"] // 10,
                     eval_images=small["eval_images"] // 4, log_interval=small["log_interval"],
                     checkpoint_interval=small["checkpoint_interval"], milestones=small["milestones"],
                     batch_size=min(p.get("batch_size", 1), 2))
    if iterations is not None:
        base = p.get("iterations", DetectConfig.iterations)
        p["milestones"] = tuple(max(1, m * iterations // base) for m in p.get("milestones", DetectConfig.milestones))
        p["iterations"] = iterations
        p["warmup_iterations"] = min(p.get("warmup_iterations", 0), iterations // 4)
        p["log_interval"] = min(p.get("log_interval", DetectConfig.log_interval), iterations)
        p["checkpoint_interval"] = p["log_interval"] * max(1, min(p.get("checkpoint_interval", 1000), iterations)
                                                           // p["log_interval"])
    if isinstance(p.get("roi_size"), dict):  # per backbone: ResNet pools twice VGG's size (14 vs 7)
        p["roi_size"] = p["roi_size"][backbone]
    p.update(kw)
    return DetectConfig(backbone=backbone, pretrained=pretrained, experiment=experiment, seed=seed, **p).validate()


# --------------------------------------------------------------------------- the run
DetectResult = Result  # the classification engine's result record: run_dir, config, summary, metrics, ...


def learning_rate(iteration: int, cfg: DetectConfig) -> float:
    """Step schedule (divide by 10 at each milestone) with an optional linear warm-up."""
    lr = cfg.lr * cfg.lr_decay ** sum(iteration >= m for m in cfg.milestones)
    if iteration < cfg.warmup_iterations:
        lr *= 0.1 + 0.9 * iteration / cfg.warmup_iterations
    return lr


def load_pretrained(path: str) -> dict | None:
    if not path:
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    return state.get("state_dict", state) if isinstance(state, dict) else state


def build_detector(cfg: DetectConfig, num_classes: int, state_dict: dict | None = None) -> torch.nn.Module:
    """The Faster R-CNN of ``cfg``; ``num_classes`` object classes (the background is added)."""
    return build_faster_rcnn(
        cfg.backbone, num_classes + 1, state_dict, frozen_bn=cfg.uses_frozen_bn(), roi_size=cfg.roi(),
        torchvision_strides=bool(cfg.pretrained), freeze_early=bool(cfg.pretrained),
        zero_init_residual=cfg.zero_init_residual and not cfg.pretrained,
        roi_op=cfg.roi_op, anchor_sizes=cfg.anchor_sizes, aspect_ratios=cfg.aspect_ratios, min_size=cfg.min_size,
        max_size=cfg.max_size, rpn_pre_nms_top_n_train=cfg.rpn_pre_nms_top_n_train,
        rpn_post_nms_top_n_train=cfg.rpn_post_nms_top_n_train, rpn_pre_nms_top_n_test=cfg.rpn_pre_nms_top_n_test,
        rpn_post_nms_top_n_test=cfg.rpn_post_nms_top_n_test, rpn_batch_size_per_image=cfg.rpn_batch_size_per_image,
        box_batch_size_per_image=cfg.box_batch_size_per_image, box_positive_fraction=cfg.box_positive_fraction,
        box_score_thresh=cfg.box_score_thresh, box_detections_per_img=cfg.box_detections_per_img)


def _move(images, targets, device):
    return [i.to(device, non_blocking=True) for i in images], [
        {k: (v.to(device) if torch.is_tensor(v) else v) for k, v in t.items()} for t in targets]


@torch.no_grad()
def predict(model, dataset, speed, batch_size: int = 4, limit: int | None = None, workers: int = 0):
    """Detections (boxes, scores, labels on the CPU) and ground truth for the first ``limit``
    images of ``dataset``."""
    was_training = model.training
    model.eval()
    n = len(dataset) if limit is None else min(limit, len(dataset))
    loader = DetectionLoader(torch.utils.data.Subset(dataset, range(n)) if n < len(dataset) else dataset,
                             batch_size, train=False, workers=workers)
    gts, dets = [], []
    for images, targets in loader:
        with autocast(speed):
            out = model([i.to(speed.device) for i in images])
        for img, t, o in zip(images, targets, out):
            gts.append({**{k: v for k, v in t.items()}, "height": img.shape[1], "width": img.shape[2]})
            dets.append({"image_id": t["image_id"], **{k: o[k].float().cpu() if k != "labels" else o[k].cpu()
                                                        for k in ("boxes", "scores", "labels")}})
    model.train(was_training)
    return gts, dets


def evaluate_detector(model, dataset, num_classes: int, speed, voc: bool = False, workers: int = 0) -> dict:
    """mAP@.5 and mAP@[.5,.95] by COCOeval on ``dataset``; VOC07 mAP@.5 too for VOC."""
    t0 = time.perf_counter()
    gts, dets = predict(model, dataset, speed, workers=workers)
    m = coco_map(gts, dets, num_classes)
    out = {"map50": m["map50"], "map": m["map"], "map75": m["map75"], "ap50_per_class": m["ap50_per_class"],
           "detections": m["detections"]}
    if voc:
        v = voc07_map(gts, dets, num_classes)
        out.update(voc07_map50=v["map50"], voc07_ap50_per_class=v["ap50_per_class"])
    out["eval_time_s"] = time.perf_counter() - t0
    return out


def _jsonable_detections(gts, dets, min_score: float = 0.05, top: int = 30) -> list[dict]:
    rows = []
    for g, d in zip(gts, dets):
        keep = (d["scores"] >= min_score).nonzero().flatten()[:top]
        rows.append({"image_id": int(g["image_id"]), "gt_boxes": g["boxes"].tolist(), "gt_labels": g["labels"].tolist(),
                     "boxes": d["boxes"][keep].tolist(), "scores": d["scores"][keep].tolist(),
                     "labels": d["labels"][keep].tolist()})
    return rows


def _maybe_test_kill(iteration: int) -> None:
    at = os.environ.get("PAPER_REPRO_DETECT_STOP_AT")
    if at is not None and iteration == int(at):
        raise KeyboardInterrupt  # the resume test's stand-in for an interruption


def fit_detector(cfg: DetectConfig, out: str | os.PathLike = "runs", data_root: str | os.PathLike = "data",
                 progress: bool | None = None, log=None) -> DetectResult:
    """Train ``cfg`` to the end, or return its stored result, or resume it."""
    cfg.validate()
    log = log or (lambda msg: print(msg, file=sys.stderr))
    directory = cfg.run_dir(out)
    stored = stored_result(directory, cfg)
    if stored is not None:
        return stored

    speed = resolve_speed(cfg)
    data = build_detection_data(cfg, data_root)  # data first: a missing data set writes nothing
    with store.run_lock(directory, log):  # one writer per run; a waiter reads the result back or resumes
        stored = stored_result(directory, cfg)
        if stored is not None:
            return stored
        return _train_detector(cfg, directory, data, speed, log, progress)


def _train_detector(cfg: DetectConfig, directory: Path, data, speed, log, progress) -> DetectResult:
    """The body of :func:`fit_detector`, run by the one process that holds the run's lock."""
    directory.mkdir(parents=True, exist_ok=True)
    if not (directory / "config.json").exists():
        store.atomic_write_json(directory / "config.json", cfg.to_dict())

    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    num_classes = len(data.classes)
    model = build_detector(cfg, num_classes, load_pretrained(cfg.pretrained)).to(speed.device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    workers = 0 if data.name == "fashion-canvas" else cfg.workers
    loader = DetectionLoader(data.train, cfg.batch_size, seed=cfg.seed, train=True, flip=cfg.hflip, workers=workers)
    start, elapsed, resumed_from = 0, 0.0, None
    state = store.load_latest_checkpoint(directory, log)
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        loader.load_state_dict(state["loader"])
        _set_rng_state(state["rng"])
        start, elapsed, resumed_from = state["iteration"], state["elapsed"], state["iteration"]
        store.truncate_metrics(directory, start)
        log(f"paper_repro: resuming run {directory.parent.name}/{directory.name} from iteration {start}")
    elif (directory / "metrics.jsonl").exists():
        store.truncate_metrics(directory, 0)
    records = store.read_metrics(directory)
    eval_time = sum(r.get("eval_time_s", 0.0) for r in records)

    bar = progress_bar(cfg.iterations, start, f"detect {cfg.backbone}", progress)
    sums: dict[str, float] = {}
    count, images_seen, t0 = 0, 0, time.perf_counter()
    batches = loader.forever()
    voc = data.name == "voc"

    def finish(status: str, iteration: int, diverged_at: int | None = None, final: dict | None = None) -> dict:
        last = records[-1] if records else {}
        final = final or {}
        summary = {
            "status": status, "diverged_at": diverged_at, "iterations_done": iteration, "backbone": cfg.backbone,
            "dataset": cfg.dataset, "eval_split": data.eval_name, "seed": cfg.seed, "pretrained": bool(cfg.pretrained),
            "frozen_bn": cfg.uses_frozen_bn(), "train_images": len(data.train), "eval_images": len(data.eval),
            "classes": list(data.classes), "final_loss": last.get("loss"),
            "first_loss": records[0].get("loss") if records else None,
            "map50": final.get("map50"), "map": final.get("map"), "map75": final.get("map75"),
            "ap50_per_class": final.get("ap50_per_class"), "voc07_map50": final.get("voc07_map50"),
            "detections": final.get("detections"), "wall_time_s": elapsed, "eval_time_s": eval_time,
            "images_per_sec": iteration * cfg.batch_size / max(elapsed, 1e-9) if status == "finished" else None,
            "device": str(speed.device), "precision": speed.precision, "config_hash": cfg.hash(),
            **provenance(speed.device),
        }
        store.atomic_write_json(directory / "summary.json", summary)
        return summary

    final = None
    try:
        for it in range(start, cfg.iterations):
            lr = learning_rate(it, cfg)
            for group in optimizer.param_groups:
                group["lr"] = lr
            images, targets = next(batches)
            images, targets = _move(images, [training_target(t) for t in targets], speed.device)
            with autocast(speed):
                losses = model(images, targets)
            losses = {k: v.float() for k, v in losses.items()}
            loss = sum(losses.values())
            if not torch.isfinite(loss):
                summary = finish("diverged", it + 1, it + 1)
                raise Diverged(it + 1, summary)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach())
            sums["loss"] = sums.get("loss", 0.0) + float(loss.detach())
            count += 1
            images_seen += len(images)
            done_it = it + 1
            bar.update(1)
            if not bar.disable and done_it % 5 == 0:
                bar.set_postfix(lr=f"{lr:g}", loss=f"{float(loss):.3f}", refresh=False)
            is_last = done_it == cfg.iterations
            if done_it % cfg.log_interval == 0 or is_last:
                dt = time.perf_counter() - t0
                elapsed += dt
                record = {"iteration": done_it, "lr": lr, **{k: v / count for k, v in sums.items()},
                          "images_per_sec": images_seen / dt, "epoch": loader.epoch + loader.position / len(loader)}
                if (cfg.eval_interval and done_it % cfg.eval_interval == 0) or is_last:
                    ev = evaluate_detector(model, data.eval, num_classes, speed, voc, workers)
                    eval_time += ev["eval_time_s"]
                    record.update({k: v for k, v in ev.items() if not k.endswith("per_class")})
                    if is_last:
                        final = ev
                records.append(record)
                store.append_metrics(directory, record)
                sums, count, images_seen = {}, 0, 0
                if done_it % cfg.checkpoint_interval == 0 or is_last:
                    store.save_checkpoint(directory, done_it, {
                        "model": model.state_dict(), "optimizer": optimizer.state_dict(), "iteration": done_it,
                        "loader": loader.state_dict(), "rng": _rng_state(), "elapsed": elapsed,
                        "config": cfg.to_dict()})
                t0 = time.perf_counter()
            _maybe_test_kill(done_it)
    finally:
        bar.close()
    if final is None:  # resumed exactly at the end: evaluate the stored model
        final = evaluate_detector(model, data.eval, num_classes, speed, voc, workers)
        eval_time += final["eval_time_s"]
    gts, dets = predict(model, data.eval, speed, limit=SAMPLE_IMAGES)
    store.atomic_write_json(directory / "samples.json", {"classes": list(data.classes),
                                                         "images": _jsonable_detections(gts, dets)})
    summary = finish("finished", cfg.iterations, final=final)
    return DetectResult(directory, cfg, summary, records, cached=False, resumed_from=resumed_from)


def load_detector(result: DetectResult, num_classes: int | None = None, device="cpu") -> torch.nn.Module:
    """The trained detector of a finished run, in eval mode, from its last checkpoint."""
    state = store.load_latest_checkpoint(result.run_dir)
    if state is None:
        raise FileNotFoundError(f"no usable checkpoint in {result.run_dir}")
    n = num_classes or len(result.summary["classes"])
    model = build_detector(result.config, n)
    model.load_state_dict(state["model"])
    return model.to(device).eval()
