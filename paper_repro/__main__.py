"""Command line: python -m paper_repro COMMAND ...

Bad arguments get one line on stderr naming what is wrong and what is allowed, and exit code 2,
before anything is printed or written to the run store. This module is the entry point only: the
argument types every command shares live in paper_repro.cli.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from paper_repro.book.build import reproduce
from paper_repro.book.report import summary_markdown, update_readme
from paper_repro.classification.bench import (
    BenchSetup,
    accuracy_report,
    bench,
    bench_accuracy,
    bench_switches,
    switches_table,
)
from paper_repro.classification.config import PROFILES, PROFILES_HELP, SPLITS, WARMUPS, RunConfig, get_profile
from paper_repro.classification.data import DATASETS_HELP, imagenet_missing, parse_dataset
from paper_repro.cli import (
    Parser,
    device,
    existing_folder,
    fraction,
    non_negative_int,
    positive_float,
    positive_int,
    run_and_report,
    seed,
    validated,
    writable_folder,
)
from paper_repro.detection.backbones import BACKBONES
from paper_repro.detection.config import PROFILE_NAMES, DetectConfig, profile_config
from paper_repro.detection.data import DATASETS_HELP as DETECTION_DATASETS_HELP
from paper_repro.detection.data import parse_detection_dataset
from paper_repro.experiments.chapters import NOTEBOOKS
from paper_repro.experiments.plan import plan, sweep_profile, table
from paper_repro.experiments.scale_map import extend
from paper_repro.models import MODEL_NAME_HELP, parse_model_name
from paper_repro.runs.datasets import DataMissing, ensure_fashion_mnist, load_cifar10
from paper_repro.runs.home import default
from paper_repro.runs.records import RECORDS
from paper_repro.runs.records import read as read_records
from paper_repro.runs.registry import train
from paper_repro.runs.spec import SPEED_CHOICES
from paper_repro.runs.speed import lower_priority
from paper_repro.runs.store import StoreWriteError
from paper_repro.runs.sweep import Placement


def _check_dataset(spec: str) -> None:
    name, path = parse_dataset(spec)
    if name == "imagenet":
        missing = imagenet_missing(path)
        if missing:
            raise ValueError(
                f"{spec}: {path} has no {' or '.join(d + '/' for d in missing)} folder; an ImageNet "
                "folder holds train/<class>/*.JPEG and val/<class>/*.JPEG (torchvision ImageFolder)"
            )


_model_name = validated(parse_model_name)
_dataset = validated(_check_dataset)


def build_parser() -> Parser:
    p = Parser(
        prog="python -m paper_repro",
        description="He et al., Deep Residual Learning for Image Recognition (CVPR 2016), reproduced.",
    )
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser, metavar="COMMAND")

    t = sub.add_parser("train", help="train one network through the run store (cached, resumable)")
    t.add_argument("model", type=_model_name, help=MODEL_NAME_HELP)
    t.add_argument(
        "--profile", choices=tuple(PROFILES), default="cpu", help=f"scale of data and schedule: {PROFILES_HELP}"
    )
    t.add_argument("--dataset", type=_dataset, help=f"{DATASETS_HELP} (default: the profile's)")
    t.add_argument(
        "--iterations", type=positive_int("iterations"), help="default: the profile's; lr milestones at 50%% and 75%%"
    )
    t.add_argument(
        "--batch-size",
        type=positive_int("batch size"),
        default=RunConfig.batch_size,
        help="mini-batch, all processes together (§4.2)",
    )
    t.add_argument("--lr", type=positive_float("lr"), default=RunConfig.lr, help="initial learning rate (§4.2)")
    t.add_argument("--seed", type=seed, default=RunConfig.seed, help="seed of the initialisation and the data order")
    t.add_argument(
        "--split", choices=SPLITS, default=RunConfig.split, help="evaluate on the test set or a 5k val split"
    )
    t.add_argument(
        "--eval-interval",
        type=positive_int("eval interval"),
        help="iterations between evaluations (default: the profile's)",
    )
    t.add_argument(
        "--warmup",
        choices=WARMUPS,
        default=RunConfig.warmup,
        help="lr 0.01 until the training error is below 80%% (§4.2); auto: ResNet-110/1202 only",
    )
    t.add_argument("--device", type=device, default=RunConfig.device, help="auto, cpu, cuda or cuda:N")
    t.add_argument(
        "--precision",
        choices=SPEED_CHOICES["precision"],
        default=RunConfig.precision,
        help="bf16 autocast where the hardware has it",
    )
    t.add_argument(
        "--channels-last",
        choices=SPEED_CHOICES["channels_last"],
        default=RunConfig.channels_last,
        help="channels_last memory format",
    )
    t.add_argument("--compile", action="store_true", help="torch.compile the model")
    t.add_argument(
        "--workers",
        type=non_negative_int("workers"),
        default=RunConfig.workers,
        help="DataLoader workers (ImageNet folders only)",
    )
    t.add_argument("--experiment", default="cli", help="run-store folder that groups related runs")
    t.add_argument("--out", type=writable_folder, default=default("runs"), help="run store root")
    t.add_argument(
        "--data-root",
        type=existing_folder,
        default=None,
        help="an existing folder with the data sets (default: data/ in the project folder, created when needed)",
    )

    b = sub.add_parser(
        "bench", help="images/s, or with --accuracy test error, of this engine against the usual DataLoader loop"
    )
    b.add_argument("--model", type=_model_name, default="resnet20", help="the net both loops train")
    b.add_argument("--batch-size", type=positive_int("batch size"), default=128, help="mini-batch of both loops")
    b.add_argument("--device", type=device, default="auto", help="auto, cpu, cuda or cuda:N")
    b.add_argument(
        "--dataset",
        choices=("synthetic", "fashion-mnist", "cifar10"),
        help="data both loops read (synthetic: CIFAR-shaped random images; default: synthetic, "
        "with --accuracy the cpu profile's fashion-mnist)",
    )
    b.add_argument(
        "--iterations",
        type=positive_int("iterations"),
        help="timed iterations (default 40 on CPU, 300 on GPU); with --accuracy the training iterations, "
        "lr milestones at 50%% and 75%% (default: the cpu profile's, 150)",
    )
    b.add_argument(
        "--workers", type=non_negative_int("workers"), default=2, help="DataLoader workers of the usual loop"
    )
    b.add_argument(
        "--accuracy",
        action="store_true",
        help="train the net with both loops (cpu profile's recipe) for each seed and compare final test "
        "errors: engine - usual with its 95%% Welch interval",
    )
    b.add_argument(
        "--seeds", nargs="+", type=seed, default=[0, 1, 2], help="with --accuracy: seeds trained by both loops"
    )
    b.add_argument(
        "--out",
        type=writable_folder,
        default=default("runs"),
        help="with --accuracy: run store root; the runs go to <out>/bench-accuracy, cached and resumable",
    )
    b.add_argument(
        "--switches",
        action="store_true",
        help="steady-state training images/s of each of --nets under every speed switch: precision "
        "bf16/fp32 x channels_last on/off, torch.compile (inductor) on the default setting, and "
        "the default setting at each of --threads; one table, and the JSON in --json",
    )
    b.add_argument(
        "--nets", nargs="+", type=_model_name, default=["resnet20", "resnet56"], help="with --switches: the nets timed"
    )
    b.add_argument(
        "--threads",
        nargs="+",
        type=positive_int("threads"),
        default=[1, 2],
        help="with --switches: torch thread counts timed on the default setting",
    )
    b.add_argument("--no-compile", action="store_true", help="with --switches: leave out the torch.compile row")
    b.add_argument("--json", default="bench-switches.json", help="with --switches: where the JSON is written")

    d = sub.add_parser("data", help="make sure a data set is on disk; print where")
    d.add_argument("dataset", choices=("fashion-mnist", "cifar10"), help="the data set")
    d.add_argument("--root", type=writable_folder, default=default("data"), help="where data sets live")

    r = sub.add_parser("reproduce", help="execute every notebook with papermill, then build the book")
    r.add_argument("--profile", choices=tuple(PROFILES), default="cpu", help=f"scale of every chapter: {PROFILES_HELP}")
    r.add_argument(
        "--only",
        nargs="*",
        metavar="CHAPTER",
        help=f"chapters to execute (default: all, in order): {', '.join(NOTEBOOKS)}",
    )
    r.add_argument("--no-build", action="store_true", help="execute the notebooks but do not build the book")
    r.add_argument(
        "--sweep",
        action="store_true",
        help="first train every run of the plan as Ray tasks on this machine (see the sweep command); "
        "the chapters then read them back",
    )
    r.add_argument("--imagenet", default="", help="ImageNet folder for the ImageNet experiments (optional)")
    r.add_argument("--voc", default="", help="folder holding VOCdevkit/ for Table 7 (optional, full profile)")
    r.add_argument(
        "--coco",
        default="",
        help="COCO folder (annotations/instances_<split>.json, <split>/) for Table 8 (optional, full profile)",
    )
    r.add_argument(
        "--pretrained-dir",
        default="",
        help="folder with torchvision's resnet101-*.pth and vgg16-*.pth ImageNet weights (optional)",
    )

    sm = sub.add_parser(
        "scale-map", help="extend the committed scale map: each claim's difference against schedule length"
    )
    sm.add_argument("--profile", choices=tuple(PROFILES), default="cpu", help="the recipe and data")
    sm.add_argument(
        "--nets",
        nargs="+",
        type=_model_name,
        default=["plain20", "plain56", "resnet20", "resnet56"],
        help="nets to train",
    )
    sm.add_argument(
        "--iterations",
        nargs="+",
        type=positive_int("iterations"),
        default=[300],
        help="schedule lengths; the lr milestones scale with each",
    )
    sm.add_argument("--seeds", nargs="+", type=seed, default=[0, 1, 2], help="seeds per point")
    sm.add_argument("--out", type=writable_folder, default=default("runs"), help="run store root")
    sm.add_argument(
        "--data-root",
        type=existing_folder,
        default=None,
        help="an existing folder with the data sets (default: data/ in the project folder, created when needed)",
    )
    sm.add_argument("--records", help="the records file to extend (default figures/scale-map/records.jsonl)")
    sm.add_argument(
        "--precision",
        choices=SPEED_CHOICES["precision"],
        default="auto",
        help="arithmetic of the forward pass (auto: bf16 autocast where the CPU or GPU has it; default: auto)",
    )
    sm.add_argument(
        "--eval-images",
        type=positive_int("eval-images"),
        help="test images each curve point is measured on (default: the profile's; final errors always use all)",
    )
    sm.add_argument(
        "--eval-interval",
        type=positive_int("eval-interval"),
        help="iterations between curve points (default: the profile's)",
    )
    sm.add_argument(
        "--priority",
        choices=("low", "normal"),
        default="low",
        help="CPU priority of the training (low: nice 19, so the machine's other work goes first and the "
        "run takes the idle cores; results do not change; default: low)",
    )

    sw = sub.add_parser("sweep", help="train every run of the plan that is not stored yet, many at once, as Ray tasks")
    sw.add_argument("--profile", choices=tuple(PROFILES), default="cpu", help="whose runs")
    sw.add_argument(
        "--address",
        help="a running Ray cluster's head, HOST:PORT or ray://HOST:PORT, or auto: the "
        "cluster this node belongs to (default: start Ray embedded on this machine)",
    )
    sw.add_argument(
        "--gpus-per-run",
        type=fraction("gpus per run"),
        help="fraction of a GPU each run asks for, in (0, 1] (default: for a CIFAR net 0.25, or more where "
        "GPUs are enough to start every run at once; 1 for a detector; none without GPUs)",
    )
    sw.add_argument(
        "--cpus-per-run",
        type=positive_int("cpus per run"),
        default=1,
        help="cores each run asks for; torch uses as many threads",
    )
    sw.add_argument(
        "--out",
        type=writable_folder,
        default=default("runs"),
        help="run store root (on a cluster: one shared folder, the same path on every node)",
    )
    sw.add_argument(
        "--data-root",
        type=existing_folder,
        default=None,
        help="an existing folder with the data sets (default: data/ in the project folder, created when needed)",
    )

    pl = sub.add_parser("plan", help="every run the book trains for a profile: stored or to run, with a measured cost")
    pl.add_argument("--profile", choices=tuple(PROFILES), default="cpu", help="whose runs")
    pl.add_argument("--out", default=default("runs"), help="run store root to look in")
    pl.add_argument("--json", action="store_true", help="one JSON object per run instead of the table")

    rp = sub.add_parser("report", help="print the reproduced numbers of a profile as a Markdown table")
    rp.add_argument("--profile", choices=tuple(PROFILES), default="cpu", help="whose numbers")
    rp.add_argument("--readme", help="rewrite this file's report block for the profile instead of printing")

    add_detect_parser(sub)
    for name, handler in HANDLERS.items():
        sub.choices[name].set_defaults(handler=handler)
    return p


def cmd_train(a) -> int:

    prof = get_profile(a.profile)
    kw = dict(
        batch_size=a.batch_size,
        lr=a.lr,
        split=a.split,
        warmup=a.warmup,
        device=a.device,
        precision=a.precision,
        channels_last=a.channels_last,
        compile=a.compile,
        workers=a.workers,
    )
    if a.dataset:
        kw["dataset"] = a.dataset
    cfg = prof.run_config(a.model, a.experiment, seed=a.seed, iterations=a.iterations, **kw)
    if a.eval_interval:
        cfg = cfg.replace(eval_interval=min(a.eval_interval, cfg.iterations))
        cfg = cfg.replace(
            checkpoint_interval=max(cfg.eval_interval, cfg.checkpoint_interval // cfg.eval_interval * cfg.eval_interval)
        )
    cfg.validate()

    return run_and_report(cfg.folder(a.out), lambda: train(cfg, out=a.out, data_root=a.data_root or default("data")))


def cmd_bench(a) -> int:

    if a.switches:
        if not Path(a.json).resolve().parent.is_dir():
            print(f"bench: --json {a.json}: its folder does not exist", file=sys.stderr)
            return 2

        r = bench_switches(
            a.nets,
            BenchSetup(a.dataset, a.batch_size, a.device),
            a.iterations,
            threads=a.threads,
            compile=not a.no_compile,
            log=lambda m: print(m, file=sys.stderr),
        )
        Path(a.json).write_text(json.dumps(r, indent=1, sort_keys=True) + "\n")
        print(switches_table(r))
        print(f"written: {a.json}")
        return 0
    if a.accuracy:
        r = bench_accuracy(
            a.model,
            a.iterations,
            a.seeds,
            BenchSetup(a.dataset, a.batch_size, a.device, a.workers),
            folders=(a.out, default("data")),
            log=lambda m: print(m, file=sys.stderr),
        )
        print(accuracy_report(r))
        return 0
    r = bench(a.model, a.batch_size, a.device, a.dataset or "synthetic", a.iterations, workers=a.workers)
    print(
        f"model {r['model']}, batch {r['batch_size']}, {r['dataset']} data, {r['device']} ({r['hardware']}), "
        f"commit {r['commit']}, {r['iterations']} timed iterations after {r['warmup']} warm-up"
    )
    print(
        f"this engine : {r['engine_images_per_sec']:8.1f} images/s  (device-resident data, batch crop+flip, "
        f"{r['engine_precision']}, channels_last={r['engine_channels_last']})"
    )
    print(
        f"usual loop  : {r['baseline_images_per_sec']:8.1f} images/s  (DataLoader, {r['baseline_workers']} workers, "
        f"per-sample PIL RandomCrop+Flip, fp32, NCHW, eager)"
    )
    print(f"ratio       : {r['ratio']:.2f}x")
    print(json.dumps(r, sort_keys=True))
    return 0


def cmd_data(a) -> int:

    if a.dataset == "fashion-mnist":
        print(f"fashion-mnist: {ensure_fashion_mnist(a.root)}")
    else:
        load_cifar10(a.root, train=True)
        print(f"cifar10: {a.root}/cifar-10-batches-py")
    return 0


def cmd_reproduce(a) -> int:

    return reproduce(
        a.profile,
        only=a.only,
        build_book=not a.no_build,
        folders={"imagenet": a.imagenet, "voc_root": a.voc, "coco_root": a.coco, "pretrained_dir": a.pretrained_dir},
        sweep=a.sweep,
    )


def cmd_scale_map(a) -> int:

    path = Path(a.records) if a.records else RECORDS
    if path.exists() and not path.is_file() or not (path.parent.is_dir() or not path.parent.exists()):
        print(f"python -m paper_repro scale-map: error: --records {path}: not a file", file=sys.stderr)
        return 2
    changes = {"precision": a.precision} if a.precision != "auto" else {}
    if a.eval_images:
        changes["eval_subset"] = a.eval_images
    if a.eval_interval:
        changes["eval_interval"] = a.eval_interval
    if a.priority == "low":
        lower_priority()
    new = extend(a.profile, a.nets, a.iterations, a.seeds, (a.out, a.data_root or default("data")), path, changes)
    print(f"{path}: {len(new)} new point(s), {len(read_records(path))} in all")
    return 0


def cmd_sweep(a) -> int:

    outcomes = sweep_profile(
        a.profile,
        a.out,
        a.data_root or default("data"),
        Placement(address=a.address, gpus_per_run=a.gpus_per_run, cpus_per_run=a.cpus_per_run),
    )
    return 1 if any(o.status != "finished" for o in outcomes) else 0


def cmd_plan(a) -> int:

    rows = plan(a.profile, a.out)
    print("\n".join(json.dumps(r, sort_keys=True) for r in rows) if a.json else table(rows))
    return 0


def cmd_report(a) -> int:

    if not a.readme:
        print(summary_markdown(a.profile))
        return 0
    try:
        changed = update_readme(a.readme, a.profile)
    except (ValueError, OSError) as e:
        print(f"python -m paper_repro report: error: {e}", file=sys.stderr)
        return 2
    print(f"{a.readme}: report block for profile {a.profile} {'updated' if changed else 'already current'}")
    return 0


# --------------------------------------------------------------------------- detect (§4.3)
def _weights_file(s: str) -> str:
    if not Path(s).is_file():
        raise argparse.ArgumentTypeError(
            f"pretrained weights {s!r} not found: give a torchvision ImageNet state-dict file "
            "(resnet101-63fe2227.pth or vgg16-397923af.pth), or leave --pretrained out to train from scratch"
        )
    return s


def add_detect_parser(subparsers) -> argparse.ArgumentParser:
    """The ``detect`` subcommand (§4.3): train and evaluate one Faster R-CNN through the run store."""
    d = subparsers.add_parser(
        "detect", help="Faster R-CNN with a ResNet-101 (C4) or VGG-16 backbone (§4.3, Tables 7/8)"
    )
    d.add_argument(
        "--backbone",
        choices=BACKBONES,
        default=DetectConfig.backbone,
        help="resnet101 (C4) or vgg16 (conv5_3, fc6/fc7)",
    )
    d.add_argument(
        "--dataset", type=validated(parse_detection_dataset), default="fashion-canvas", help=DETECTION_DATASETS_HELP
    )
    d.add_argument("--profile", choices=PROFILE_NAMES, default="cpu", help="smoke, cpu or full")
    d.add_argument(
        "--iterations", type=positive_int("iterations"), help="default: the profile's (lr steps scale with it)"
    )
    d.add_argument("--lr", type=positive_float("lr"), help="base learning rate (default: the profile's)")
    d.add_argument(
        "--pretrained",
        type=_weights_file,
        default=None,
        help="torchvision ImageNet state dict of the backbone; without it: from scratch",
    )
    d.add_argument("--seed", type=seed, default=DetectConfig.seed, help="seed of the initialisation and the data order")
    d.add_argument("--device", type=device, default=DetectConfig.device, help="auto, cpu, cuda or cuda:N")
    d.add_argument(
        "--precision",
        choices=SPEED_CHOICES["precision"],
        default=DetectConfig.precision,
        help="bf16 autocast where the hardware has it",
    )
    d.add_argument(
        "--workers",
        type=non_negative_int("workers"),
        default=DetectConfig.workers,
        help="DataLoader workers for VOC/COCO images",
    )
    d.add_argument("--experiment", default=DetectConfig.experiment, help="run-store folder that groups related runs")
    d.add_argument("--out", type=writable_folder, default=default("runs"), help="run store root")
    d.add_argument(
        "--data-root",
        type=existing_folder,
        default=None,
        help="an existing folder with Fashion-MNIST (default: data/, created when needed)",
    )
    return d


def config_from_args(args):
    """The DetectConfig the parsed ``detect`` arguments ask for (the profile's, then overrides)."""
    extra = {"lr": args.lr} if args.lr else {}
    return profile_config(
        args.profile,
        args.backbone,
        args.dataset,
        pretrained=args.pretrained or "",
        experiment=args.experiment,
        seed=args.seed,
        iterations=args.iterations,
        device=args.device,
        precision=args.precision,
        workers=args.workers,
        **extra,
    )


def cmd_detect(args) -> int:
    """Run ``python -m paper_repro detect``; 0 when the run finished, 1 when it diverged."""
    try:
        cfg = config_from_args(args)
    except ValueError as e:
        print(f"python -m paper_repro detect: error: {e}", file=sys.stderr)
        return 2
    return run_and_report(
        cfg.folder(args.out), lambda: train(cfg, out=args.out, data_root=args.data_root or default("data"))
    )


HANDLERS = {
    "train": cmd_train,
    "bench": cmd_bench,
    "data": cmd_data,
    "reproduce": cmd_reproduce,
    "report": cmd_report,
    "scale-map": cmd_scale_map,
    "plan": cmd_plan,
    "sweep": cmd_sweep,
    "detect": cmd_detect,
}


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except DataMissing as e:
        print(f"paper_repro: {e}", file=sys.stderr)
        return 1
    except StoreWriteError as e:  # a full disk, a run store that became read-only
        print(
            f"paper_repro: {e.strerror}; run the same command again once it can be written: it resumes", file=sys.stderr
        )
        return 1
    except ValueError as e:  # a bad value that only the full config could see
        print(f"python -m paper_repro {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("paper_repro: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
