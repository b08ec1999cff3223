"""fit_detector(config): Faster R-CNN training (§4.3) through the run store.

A run lives in ``runs/<experiment>/<config hash>/`` with config.json, metrics.jsonl (losses every
``log_interval`` iterations, mAP every ``eval_interval``), checkpoints (model, optimizer, loader
position, RNG, elapsed time) and summary.json. A finished run returns its stored summary at
once; an interrupted one resumes from its last good checkpoint; a NaN/inf loss writes a
"diverged" summary and raises :class:`~paper_repro.runs.run.Diverged`.

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

import os
import time
from pathlib import Path

import torch

from paper_repro.detection.config import DetectConfig
from paper_repro.detection.data import DetectionLoader, build_detection_data, training_target
from paper_repro.detection.evaluate import coco_map, voc07_map
from paper_repro.runs import store
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

SAMPLE_IMAGES = 8  # held-out images whose detections are kept for the book's figure


# --------------------------------------------------------------------------- the run
def learning_rate(iteration: int, cfg: DetectConfig) -> float:
    """Step schedule (divide by 10 at each milestone) with an optional linear warm-up."""
    lr = step_decay(iteration, cfg)
    if iteration < cfg.warmup_iterations:
        lr *= 0.1 + 0.9 * iteration / cfg.warmup_iterations
    return lr


def load_pretrained(path: str) -> dict | None:
    """The ImageNet weights in ``path`` (a state dict of tensors), loaded safely: a file that holds
    anything else is refused with one line (ValueError), and nothing in it is executed."""
    if not path:
        return None
    try:
        state = store.safe_torch_load(path, "weights file")
    except ValueError as e:
        raise ValueError(f"pretrained weights {path}: {e}") from None
    state = state.get("state_dict", state) if isinstance(state, dict) else state
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"pretrained weights {path}: not a state dict of tensors")
    return state


def build_detector(cfg: DetectConfig, num_classes: int, state_dict: dict | None = None) -> torch.nn.Module:
    """The Faster R-CNN of ``cfg``; ``num_classes`` object classes (the background is added)."""
    # torchvision's detection models (a second to import) only where a detector is built: importing
    # this module registers fit_detector for every DetectConfig, the command line's --help included
    from paper_repro.detection.backbones import BackboneOptions, build_faster_rcnn  # noqa: PLC0415

    options = BackboneOptions(
        frozen_bn=cfg.uses_frozen_bn(),
        roi_size=cfg.roi(),
        roi_op=cfg.roi_op,
        freeze_early=bool(cfg.pretrained),
        torchvision_strides=bool(cfg.pretrained),
        zero_init_residual=cfg.zero_init_residual and not cfg.pretrained,
    )
    return build_faster_rcnn(
        cfg.backbone,
        num_classes + 1,
        state_dict,
        options,
        anchor_sizes=cfg.anchor_sizes,
        aspect_ratios=cfg.aspect_ratios,
        min_size=cfg.min_size,
        max_size=cfg.max_size,
        rpn_pre_nms_top_n_train=cfg.rpn_pre_nms_top_n_train,
        rpn_post_nms_top_n_train=cfg.rpn_post_nms_top_n_train,
        rpn_pre_nms_top_n_test=cfg.rpn_pre_nms_top_n_test,
        rpn_post_nms_top_n_test=cfg.rpn_post_nms_top_n_test,
        rpn_batch_size_per_image=cfg.rpn_batch_size_per_image,
        box_batch_size_per_image=cfg.box_batch_size_per_image,
        box_positive_fraction=cfg.box_positive_fraction,
        box_score_thresh=cfg.box_score_thresh,
        box_detections_per_img=cfg.box_detections_per_img,
    )


def _move(images, targets, device):
    return [i.to(device, non_blocking=True) for i in images], [
        {k: (v.to(device) if torch.is_tensor(v) else v) for k, v in t.items()} for t in targets
    ]


@torch.no_grad()
def predict(model, dataset, speed, batch_size: int = 4, limit: int | None = None, workers: int = 0):
    """Detections (boxes, scores, labels on the CPU) and ground truth for the first ``limit``
    images of ``dataset``."""
    was_training = model.training
    model.eval()
    n = len(dataset) if limit is None else min(limit, len(dataset))
    loader = DetectionLoader(
        torch.utils.data.Subset(dataset, range(n)) if n < len(dataset) else dataset,
        batch_size,
        train=False,
        workers=workers,
    )
    gts, dets = [], []
    for images, targets in loader:
        with autocast(speed):
            out = model([i.to(speed.device) for i in images])
        for img, t, o in zip(images, targets, out):
            gts.append({**dict(t.items()), "height": img.shape[1], "width": img.shape[2]})
            dets.append(
                {
                    "image_id": t["image_id"],
                    **{k: o[k].float().cpu() if k != "labels" else o[k].cpu() for k in ("boxes", "scores", "labels")},
                }
            )
    model.train(was_training)
    return gts, dets


def evaluate_detector(model, dataset, num_classes: int, speed, voc: bool = False, workers: int = 0) -> dict:
    """mAP@.5 and mAP@[.5,.95] by COCOeval on ``dataset``; VOC07 mAP@.5 too for VOC."""
    t0 = time.perf_counter()
    gts, dets = predict(model, dataset, speed, workers=workers)
    m = coco_map(gts, dets, num_classes)
    out = {
        "map50": m["map50"],
        "map": m["map"],
        "map75": m["map75"],
        "ap50_per_class": m["ap50_per_class"],
        "detections": m["detections"],
    }
    if voc:
        v = voc07_map(gts, dets, num_classes)
        out.update(voc07_map50=v["map50"], voc07_ap50_per_class=v["ap50_per_class"])
    out["eval_time_s"] = time.perf_counter() - t0
    return out


def _jsonable_detections(gts, dets, min_score: float = 0.05, top: int = 30) -> list[dict]:
    rows = []
    for g, d in zip(gts, dets):
        keep = (d["scores"] >= min_score).nonzero().flatten()[:top]
        rows.append(
            {
                "image_id": int(g["image_id"]),
                "gt_boxes": g["boxes"].tolist(),
                "gt_labels": g["labels"].tolist(),
                "boxes": d["boxes"][keep].tolist(),
                "scores": d["scores"][keep].tolist(),
                "labels": d["labels"][keep].tolist(),
            }
        )
    return rows


@register(DetectConfig)
def fit_detector(
    cfg: DetectConfig,
    out: str | os.PathLike = "runs",
    data_root: str | os.PathLike = "data",
    progress: bool | None = None,
    log=None,
) -> Result:
    """Train ``cfg`` to the end, or return its stored result, or resume it (``runs.run.train_once``)."""
    return train_once(
        cfg,
        out,
        log,
        lambda: (build_detection_data(cfg, data_root), resolve_speed(cfg)),
        lambda run, loaded: _train_detector(run, *loaded, progress),
    )


def _train_detector(run: Run, data, speed: Speed, progress) -> Result:
    """Faster R-CNN's joint training, one mini-batch at a time, by the process holding the lock."""
    cfg = run.cfg
    seed_everything(cfg.seed)
    num_classes = len(data.classes)
    model = build_detector(cfg, num_classes, load_pretrained(cfg.pretrained)).to(speed.device)
    optimizer = make_optimizer(model.parameters(), cfg, speed.device)
    loader = DetectionLoader(
        data.train, cfg.batch_size, seed=cfg.seed, train=True, flip=cfg.hflip, workers=_workers(cfg, data)
    )
    speed = run.open({"model": model, "optimizer": optimizer, "loader": loader}, speed).speed
    tally, batches, final = Tally(speed.device), loader.forever(), None
    for it in run.steps(f"detect {cfg.backbone}", progress):
        lr = set_lr(optimizer, learning_rate(it, cfg))
        images, targets = next(batches)
        images, targets = _move(images, [training_target(t) for t in targets], speed.device)
        with autocast(speed):
            losses = {k: v.float() for k, v in model(images, targets).items()}
        loss = sum(losses.values())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        n, done = len(images), it + 1
        tally.add(n, loss, loss=loss.detach().double() * n, **{k: v.detach().double() * n for k, v in losses.items()})
        bad = tally.first_nonfinite(done, force=run.at_interval(done, cfg.log_interval))
        if bad is not None:
            raise Diverged(bad, _summary(run, data, speed, "diverged", bad))
        run.show(every=5, lr=f"{lr:g}", loss=loss)
        if run.at_interval(done, cfg.log_interval):
            final = _end_interval(run, done, lr, model, data, speed, tally) or final
    extra_eval_s = 0.0
    if final is None:  # resumed exactly at the end: evaluate the stored model
        final = evaluate_detector(model, data.eval, num_classes, speed, data.name == "voc", _workers(cfg, data))
        extra_eval_s = final["eval_time_s"]
    _save_samples(run.directory, model, data, speed)
    return run.result(_summary(run, data, speed, "finished", cfg.iterations, final, extra_eval_s))


def _workers(cfg: DetectConfig, data) -> int:
    """DataLoader workers: none for the canvases (drawn in memory), ``cfg.workers`` for image files."""
    return 0 if data.name == "fashion-canvas" else cfg.workers


def _end_interval(run: Run, done: int, lr: float, model, data, speed: Speed, tally: Tally) -> dict | None:
    """Every ``log_interval`` iterations: the mean losses, the mAP when due, a checkpoint when due.
    Returns the evaluation at the last iteration (the run's final mAP), else None."""
    cfg, loader = run.cfg, run.parts["loader"]
    with run.interval(tally, done) as (means, ips):
        record = {
            "iteration": done,
            "lr": lr,
            **means,
            "images_per_sec": ips,
            "epoch": loader.epoch + loader.position / len(loader),
        }
        is_last, ev = done == cfg.iterations, None
        if (cfg.eval_interval and done % cfg.eval_interval == 0) or is_last:
            ev = evaluate_detector(model, data.eval, len(data.classes), speed, data.name == "voc", _workers(cfg, data))
            record.update({k: v for k, v in ev.items() if not k.endswith("per_class")})
        run.record(record)
    return ev if is_last else None


def _save_samples(directory: Path, model, data, speed) -> None:
    """The detections on the first held-out images, for the chapter's figure."""
    gts, dets = predict(model, data.eval, speed, limit=SAMPLE_IMAGES)
    store.atomic_write_json(
        directory / "samples.json", {"classes": list(data.classes), "images": _jsonable_detections(gts, dets)}
    )


def _summary(
    run: Run, data, speed: Speed, status: str, iteration: int, final: dict | None = None, extra_eval_s: float = 0.0
) -> dict:
    """summary.json: the final mAP (COCOeval; VOC07 too on VOC), the losses and the speed."""
    cfg, records, final = run.cfg, run.records, final or {}
    last = records[-1] if records else {}
    return run.finish(
        status,
        iteration,
        speed,
        {
            "backbone": cfg.backbone,
            "eval_split": data.eval_name,
            "pretrained": bool(cfg.pretrained),
            "frozen_bn": cfg.uses_frozen_bn(),
            "train_images": len(data.train),
            "eval_images": len(data.eval),
            "classes": list(data.classes),
            "final_loss": last.get("loss"),
            "first_loss": records[0].get("loss") if records else None,
            "map50": final.get("map50"),
            "map": final.get("map"),
            "map75": final.get("map75"),
            "ap50_per_class": final.get("ap50_per_class"),
            "voc07_map50": final.get("voc07_map50"),
            "detections": final.get("detections"),
            "eval_time_s": sum(r.get("eval_time_s", 0.0) for r in records) + extra_eval_s,
            "images_per_sec": iteration * cfg.batch_size / max(run.elapsed, 1e-9) if status == "finished" else None,
        },
    )


def load_detector(result: Result, num_classes: int | None = None, device="cpu") -> torch.nn.Module:
    """The trained detector of a finished run, in eval mode, from its last checkpoint."""
    state = store.load_latest_checkpoint(result.run_dir)
    if state is None:
        raise FileNotFoundError(f"no usable checkpoint in {result.run_dir}")
    n = num_classes or len(result.summary["classes"])
    model = build_detector(result.config, n)
    model.load_state_dict(state["model"])
    return model.to(device).eval()
