"""``python -m paper_repro detect``: train and evaluate one Faster R-CNN through the run store.

    python -m paper_repro detect --backbone resnet101 --dataset fashion-canvas --profile cpu
    python -m paper_repro detect --backbone vgg16 --dataset voc:/data/voc --profile full \\
        --pretrained weights/vgg16-397923af.pth

It prints the run directory, then the summary as one JSON line. Bad arguments get one line on
stderr naming what is wrong and what is allowed, and exit code 2, before anything is written.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from paper_repro.cli import device, existing_folder, non_negative_int, positive_float, positive_int, run_and_report, seed, validated, writable_folder
from paper_repro.detection.backbones import BACKBONES
from paper_repro.detection.data import DATASETS_HELP, parse_detection_dataset
from paper_repro.detection.config import PROFILE_NAMES
from paper_repro.runs.home import default


def _weights_file(s: str) -> str:
    if not Path(s).is_file():
        raise argparse.ArgumentTypeError(
            f"pretrained weights {s!r} not found: give a torchvision ImageNet state-dict file "
            "(resnet101-63fe2227.pth or vgg16-397923af.pth), or leave --pretrained out to train from scratch")
    return s


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``detect`` subcommand to ``python -m paper_repro``'s subparsers."""
    d = subparsers.add_parser("detect", help="Faster R-CNN with a ResNet-101 (C4) or VGG-16 backbone (§4.3, Tables 7/8)")
    d.add_argument("--backbone", choices=BACKBONES, default="resnet101", help="resnet101 (C4) or vgg16 (conv5_3, fc6/fc7)")
    d.add_argument("--dataset", type=validated(parse_detection_dataset), default="fashion-canvas", help=DATASETS_HELP)
    d.add_argument("--profile", choices=PROFILE_NAMES, default="cpu", help="smoke, cpu or full")
    d.add_argument("--iterations", type=positive_int("iterations"), help="default: the profile's (lr steps scale with it)")
    d.add_argument("--lr", type=positive_float("lr"), help="base learning rate (default: the profile's)")
    d.add_argument("--pretrained", type=_weights_file, default=None,
                   help="torchvision ImageNet state dict of the backbone; without it: from scratch")
    d.add_argument("--seed", type=seed, default=0, help="seed of the initialisation and the data order")
    d.add_argument("--device", type=device, default="auto", help="auto, cpu, cuda or cuda:N")
    d.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto", help="bf16 autocast where the hardware has it")
    d.add_argument("--workers", type=non_negative_int("workers"), default=4, help="DataLoader workers for VOC/COCO images")
    d.add_argument("--experiment", default="detection", help="run-store folder that groups related runs")
    d.add_argument("--out", type=writable_folder, default=default("runs"), help="run store root")
    d.add_argument("--data-root", type=existing_folder, default=None,
                   help="an existing folder with Fashion-MNIST (default: data/, created when needed)")
    d.set_defaults(handler=cmd_detect)
    return d


def config_from_args(args):
    """The DetectConfig the parsed ``detect`` arguments ask for (the profile's, then overrides)."""
    from paper_repro.detection.config import profile_config

    extra = {"lr": args.lr} if args.lr else {}
    return profile_config(args.profile, args.backbone, args.dataset, pretrained=args.pretrained or "",
                          experiment=args.experiment, seed=args.seed, iterations=args.iterations,
                          device=args.device, precision=args.precision, workers=args.workers, **extra)


def cmd_detect(args) -> int:
    """Run ``python -m paper_repro detect``; 0 when the run finished, 1 when it diverged."""
    from paper_repro.runs.engine import Diverged
    from paper_repro.detection.train import fit_detector

    try:
        cfg = config_from_args(args)
    except ValueError as e:
        print(f"python -m paper_repro detect: error: {e}", file=sys.stderr)
        return 2
    return run_and_report(cfg.run_dir(args.out), lambda: fit_detector(cfg, out=args.out, data_root=args.data_root or default("data")),
                          Diverged)
