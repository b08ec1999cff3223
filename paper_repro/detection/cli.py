"""``python -m paper_repro detect``: train and evaluate one Faster R-CNN through the run store.

    python -m paper_repro detect --backbone resnet101 --dataset fashion-canvas --profile cpu
    python -m paper_repro detect --backbone vgg16 --dataset voc:/data/voc --profile full \\
        --pretrained weights/vgg16-397923af.pth

It prints the run directory, then the summary as one JSON line. Bad arguments get one line on
stderr naming what is wrong and what is allowed, and exit code 2, before anything is written.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .backbones import BACKBONES
from .data import DATASETS_HELP, parse_detection_dataset
from .train import PROFILE_NAMES


def _dataset(s: str) -> str:
    try:
        parse_detection_dataset(s)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return s


def _positive_int(name: str):
    def parse(s):
        try:
            v = int(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a positive integer, got {s!r}") from None
        if v <= 0:
            raise argparse.ArgumentTypeError(f"{name} must be a positive integer, got {s!r}")
        return v
    return parse


def _weights_file(s: str) -> str:
    if not Path(s).is_file():
        raise argparse.ArgumentTypeError(
            f"pretrained weights {s!r} not found: give a torchvision ImageNet state-dict file "
            "(resnet101-63fe2227.pth or vgg16-397923af.pth), or leave --pretrained out to train from scratch")
    return s


def _device(s: str) -> str:
    if s in ("auto", "cpu", "cuda") or s.startswith("cuda:"):
        return s
    raise argparse.ArgumentTypeError(f"unknown device {s!r}; allowed: auto, cpu, cuda, cuda:N")


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``detect`` subcommand to ``python -m paper_repro``'s subparsers."""
    d = subparsers.add_parser("detect", help="Faster R-CNN with a ResNet-101 (C4) or VGG-16 backbone (§4.3, Tables 7/8)")
    d.add_argument("--backbone", choices=BACKBONES, default="resnet101", help="resnet101 (C4) or vgg16 (conv5_3, fc6/fc7)")
    d.add_argument("--dataset", type=_dataset, default="fashion-canvas", help=f"{DATASETS_HELP} (default fashion-canvas)")
    d.add_argument("--profile", choices=PROFILE_NAMES, default="cpu", help="smoke, cpu or full (default cpu)")
    d.add_argument("--iterations", type=_positive_int("iterations"), help="default: the profile's (lr steps scale with it)")
    d.add_argument("--pretrained", type=_weights_file, default=None,
                   help="torchvision ImageNet state dict of the backbone; without it: from scratch")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--device", type=_device, default="auto")
    d.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto")
    d.add_argument("--workers", type=int, default=4, help="DataLoader workers for VOC/COCO images (default 4)")
    d.add_argument("--experiment", default="detection", help="run-store folder (default detection)")
    d.add_argument("--out", default="runs", help="run store root (default runs/)")
    d.add_argument("--data-root", default="data", help="where Fashion-MNIST lives (default data/)")
    d.set_defaults(handler=cmd_detect)
    return d


def cmd_detect(args) -> int:
    """Run ``python -m paper_repro detect``; 0 when the run finished, 1 when it diverged."""
    from ..train import Diverged
    from .train import fit_detector, profile_config

    try:
        cfg = profile_config(args.profile, args.backbone, args.dataset, pretrained=args.pretrained or "",
                             experiment=args.experiment, seed=args.seed, iterations=args.iterations,
                             device=args.device, precision=args.precision, workers=args.workers)
    except ValueError as e:
        print(f"python -m paper_repro detect: error: {e}", file=sys.stderr)
        return 2
    print(f"run: {cfg.run_dir(args.out)}", flush=True)
    try:
        result = fit_detector(cfg, out=args.out, data_root=args.data_root)
    except Diverged as e:
        print(json.dumps(e.summary, sort_keys=True))
        print(f"paper_repro: {e}", file=sys.stderr)
        return 1
    if result.cached:
        print("finished earlier: stored result", file=sys.stderr)
    print(json.dumps(result.summary, sort_keys=True))
    return 0
