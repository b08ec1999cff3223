"""Command line: ``python -m paper_repro {train,bench,data,reproduce,detect} ...``.

Bad arguments get one line on stderr naming what is wrong and what is allowed, and exit code 2,
before anything is written to the run store.
"""
from __future__ import annotations

import argparse
import json
import sys

from .config import PROFILES, PROFILES_HELP, get_profile
from .data import DATASETS_HELP, DataMissing, parse_dataset
from .models import MODEL_NAME_HELP, parse_model_name


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse prints usage too)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _positive_int(name):
    def parse(s):
        try:
            v = int(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a positive integer, got {s!r}") from None
        if v <= 0:
            raise argparse.ArgumentTypeError(f"{name} must be a positive integer, got {s!r}")
        return v
    return parse


def _positive_float(name):
    def parse(s):
        try:
            v = float(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number > 0, got {s!r}") from None
        if not v > 0:
            raise argparse.ArgumentTypeError(f"{name} must be a number > 0, got {s!r}")
        return v
    return parse


def _validated(check):
    """An argparse type that runs ``check`` (which raises ValueError naming what is allowed)."""
    def parse(s):
        try:
            check(s)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
        return s
    return parse


_model_name = _validated(parse_model_name)
_dataset = _validated(parse_dataset)


def _seed(s):
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seed must be an integer in [0, 2**32 - 1], got {s!r}") from None
    if not 0 <= v < 2 ** 32:
        raise argparse.ArgumentTypeError(f"seed must be an integer in [0, 2**32 - 1], got {s!r}")
    return v


def _device(s):
    if s in ("auto", "cpu", "cuda") or s.startswith("cuda:"):
        return s
    raise argparse.ArgumentTypeError(f"unknown device {s!r}; allowed: auto, cpu, cuda, cuda:N")


def build_parser() -> Parser:
    p = Parser(prog="python -m paper_repro", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    t = sub.add_parser("train", help="train one network through the run store (cached, resumable)")
    t.add_argument("model", type=_model_name, help=MODEL_NAME_HELP)
    t.add_argument("--profile", choices=tuple(PROFILES), default="cpu", help=f"{PROFILES_HELP} (default cpu)")
    t.add_argument("--dataset", type=_dataset, help=f"{DATASETS_HELP} (default: the profile's)")
    t.add_argument("--iterations", type=_positive_int("iterations"), help="default: the profile's; lr milestones at 50%% and 75%%")
    t.add_argument("--batch-size", type=_positive_int("batch size"), default=128)
    t.add_argument("--lr", type=_positive_float("lr"), default=0.1)
    t.add_argument("--seed", type=_seed, default=0, help="seed of the initialisation and data order (default 0)")
    t.add_argument("--split", choices=("test", "val"), default="test", help="evaluate on the test set or a 5k val split")
    t.add_argument("--eval-interval", type=_positive_int("eval interval"))
    t.add_argument("--warmup", choices=("auto", "on", "off"), default="auto")
    t.add_argument("--device", type=_device, default="auto")
    t.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto")
    t.add_argument("--channels-last", choices=("auto", "on", "off"), default="auto")
    t.add_argument("--compile", action="store_true", help="torch.compile the model")
    t.add_argument("--workers", type=int, default=8, help="DataLoader workers (ImageNet folders only)")
    t.add_argument("--experiment", default="cli", help="run-store folder (default cli)")
    t.add_argument("--out", default="runs", help="run store root (default runs/)")
    t.add_argument("--data-root", default="data")

    b = sub.add_parser("bench", help="images/s of this engine against the usual DataLoader loop")
    b.add_argument("--model", type=_model_name, default="resnet20")
    b.add_argument("--batch-size", type=_positive_int("batch size"), default=128)
    b.add_argument("--device", type=_device, default="auto")
    b.add_argument("--dataset", choices=("synthetic", "fashion-mnist", "cifar10"), default="synthetic")
    b.add_argument("--iterations", type=_positive_int("iterations"), help="timed iterations (default 40 on CPU, 300 on GPU)")
    b.add_argument("--workers", type=int, default=2, help="DataLoader workers of the usual loop (default 2)")

    d = sub.add_parser("data", help="make sure a data set is on disk; print where")
    d.add_argument("dataset", choices=("fashion-mnist", "cifar10"))
    d.add_argument("--root", default="data")

    r = sub.add_parser("reproduce", help="execute every notebook with papermill, then build the book")
    r.add_argument("--profile", choices=tuple(PROFILES), default="cpu", help=f"{PROFILES_HELP} (default cpu)")
    r.add_argument("--only", nargs="*", help="notebook names to execute (default: all, in order)")
    r.add_argument("--no-build", action="store_true", help="execute the notebooks but do not build the book")
    r.add_argument("--imagenet", default="", help="ImageNet folder for the ImageNet experiments (optional)")
    r.add_argument("--voc", default="", help="folder holding VOCdevkit/ for Table 7 (optional, full profile)")
    r.add_argument("--coco", default="", help="COCO folder (annotations/instances_<split>.json, <split>/) for Table 8 (optional, full profile)")
    r.add_argument("--pretrained-dir", default="",
                   help="folder with torchvision's resnet101-*.pth and vgg16-*.pth ImageNet weights (optional)")

    sm = sub.add_parser("scale-map", help="extend the committed scale map: each claim's difference against schedule length")
    sm.add_argument("--profile", choices=tuple(PROFILES), default="cpu", help="the recipe and data (default cpu)")
    sm.add_argument("--nets", nargs="+", type=_model_name, default=["plain20", "plain56", "resnet20", "resnet56"],
                    help="nets to train (default: plain20 plain56 resnet20 resnet56)")
    sm.add_argument("--iterations", nargs="+", type=_positive_int("iterations"), default=[300],
                    help="schedule lengths; the lr milestones scale with each (default 300)")
    sm.add_argument("--seeds", nargs="+", type=_seed, default=[0, 1, 2], help="seeds per point (default 0 1 2)")
    sm.add_argument("--out", default="runs", help="run store root (default runs/)")
    sm.add_argument("--data-root", default="data", help="where the data sets are (default data/)")
    sm.add_argument("--records", help="the records file to extend (default figures/scale-map/records.jsonl)")

    rp = sub.add_parser("report", help="print the reproduced numbers of a profile as a Markdown table")
    rp.add_argument("--profile", choices=tuple(PROFILES), default="cpu")
    rp.add_argument("--readme", help="rewrite this file's report block for the profile instead of printing")

    try:  # the detection command (§4.3) lives in its own subpackage
        from .detection.cli import add_parser as add_detect_parser
    except ImportError:
        pass
    else:
        add_detect_parser(sub)
    return p


def cmd_train(a) -> int:
    from .train import fit, run_and_report

    prof = get_profile(a.profile)
    kw = dict(batch_size=a.batch_size, lr=a.lr, split=a.split, warmup=a.warmup, device=a.device,
              precision=a.precision, channels_last=a.channels_last, compile=a.compile, workers=a.workers)
    if a.dataset:
        kw["dataset"] = a.dataset
    cfg = prof.run_config(a.model, a.experiment, seed=a.seed, iterations=a.iterations, **kw)
    if a.eval_interval:
        cfg = cfg.replace(eval_interval=min(a.eval_interval, cfg.iterations))
        cfg = cfg.replace(checkpoint_interval=max(cfg.eval_interval, cfg.checkpoint_interval // cfg.eval_interval * cfg.eval_interval))
    cfg.validate()
    from .store import run_dir

    return run_and_report(run_dir(cfg, a.out), lambda: fit(cfg, out=a.out, data_root=a.data_root))


def cmd_bench(a) -> int:
    from .bench import bench

    r = bench(a.model, a.batch_size, a.device, a.dataset, a.iterations, workers=a.workers)
    print(f"model {r['model']}, batch {r['batch_size']}, {r['dataset']} data, {r['device']} ({r['hardware']}), "
          f"commit {r['commit']}, {r['iterations']} timed iterations after {r['warmup']} warm-up")
    print(f"this engine : {r['engine_images_per_sec']:8.1f} images/s  (device-resident data, batch crop+flip, "
          f"{r['engine_precision']}, channels_last={r['engine_channels_last']})")
    print(f"usual loop  : {r['baseline_images_per_sec']:8.1f} images/s  (DataLoader, {r['baseline_workers']} workers, "
          f"per-sample PIL RandomCrop+Flip, fp32, NCHW, eager)")
    print(f"ratio       : {r['ratio']:.2f}x")
    print(json.dumps(r, sort_keys=True))
    return 0


def cmd_data(a) -> int:
    from .data import ensure_fashion_mnist, load_cifar10

    if a.dataset == "fashion-mnist":
        print(f"fashion-mnist: {ensure_fashion_mnist(a.root)}")
    else:
        load_cifar10(a.root, train=True)
        print(f"cifar10: {a.root}/cifar-10-batches-py")
    return 0


def cmd_reproduce(a) -> int:
    from .book import reproduce

    return reproduce(a.profile, only=a.only, build_book=not a.no_build, imagenet=a.imagenet,
                     voc_root=a.voc, coco_root=a.coco, pretrained_dir=a.pretrained_dir)


def cmd_scale_map(a) -> int:
    from pathlib import Path

    from .scale_map import RECORDS, extend, read_records

    path = Path(a.records) if a.records else RECORDS
    if path.exists() and not path.is_file() or not (path.parent.is_dir() or not path.parent.exists()):
        print(f"python -m paper_repro scale-map: error: --records {path}: not a file", file=sys.stderr)
        return 2
    new = extend(a.profile, a.nets, a.iterations, a.seeds, out=a.out, data_root=a.data_root, path=path)
    print(f"{path}: {len(new)} new point(s), {len(read_records(path))} in all")
    return 0


def cmd_report(a) -> int:
    from .report import summary_markdown, update_readme

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


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {"train": cmd_train, "bench": cmd_bench, "data": cmd_data, "reproduce": cmd_reproduce, "report": cmd_report,
                "scale-map": cmd_scale_map}
    if args.command == "detect":
        from .detection.cli import cmd_detect
        handlers["detect"] = cmd_detect
    try:
        return handlers[args.command](args)
    except DataMissing as e:
        print(f"paper_repro: {e}", file=sys.stderr)
        return 1
    except ValueError as e:  # a bad value that only the full config could see
        print(f"python -m paper_repro {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("paper_repro: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
