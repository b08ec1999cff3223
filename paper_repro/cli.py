"""The command line, all of it: ``python -m paper_repro COMMAND ...`` (``__main__`` only calls ``main``).

Bad arguments get argparse's usage line and one line on stderr naming what is wrong and what is
allowed, and exit code 2, before anything is printed or written to the run store; an error only the
whole config can see (a ValueError) gets that one line alone. Each flag is declared once: the flags
several commands share (``--profile``, ``--out``, ``--data-root``) in a parent parser of their own,
and the flags of ``train`` and ``detect`` are made from the fields of RunConfig and DetectConfig
(``add_fields``), whose defaults they take and whose help lies next to the dataclass (``RUN_FLAGS``,
``DETECT_FLAGS``).

The names are the same in every command: the net is MODEL (``--model``; several: ``--models``), the
data folder ``--data-root``, the run store ``--out``. They follow torchvision's classification
reference script (references/classification/train.py) where it fits: ``--model``, ``-b/--batch-size``,
``-j/--workers``, ``--lr``, ``--device``. Where this project differs, and why:

* ``train`` also takes the net positionally (``train resnet56``), the form the README and the book
  have always used; ``train --model resnet56`` is the same.
* ``--iterations``, not ``--epochs``: the paper's schedule counts iterations (64k, lr divided by 10 at
  32k and 48k, §4.2), and the profiles shorten it in iterations.
* no ``--resume CHECKPOINT``: a run lives in the run store in a folder named by its config's hash, and
  asked again it resumes from its last checkpoint by itself (or prints its stored result).
  ``--out`` is that store, not torchvision's ``--output-dir`` of one run.
* ``--data-root`` for ``--data-path``: one folder that holds every data set, downloaded there when
  missing, not the ImageFolder of one (``--dataset imagenet:PATH`` names that).
* no ``--momentum``, ``--wd``, ``--lr-steps``, ``--lr-gamma``: the recipe is the paper's (§4.2); a
  profile (``--profile``) sets the scale of data and schedule, and ``--iterations`` moves the lr steps
  with it.
* ``--precision bf16|fp32`` for ``--amp``, and ``--seed``, part of a run's identity (torchvision has none).
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import os
import stat
import sys
from pathlib import Path

import torch

from paper_repro.classification.config import PROFILES, PROFILES_HELP, RUN_FLAGS, SPLITS, WARMUPS, RunConfig
from paper_repro.classification.data import imagenet_missing, parse_dataset
from paper_repro.detection.config import BACKBONES, DETECT_FLAGS, DetectConfig, DetectProfile
from paper_repro.detection.config import PROFILES as DETECT_PROFILES
from paper_repro.detection.data import parse_detection_dataset
from paper_repro.experiments.chapters import NOTEBOOKS
from paper_repro.models import MODEL_NAME_HELP, parse_model_name
from paper_repro.runs.datasets import DataMissing, ensure_fashion_mnist, load_cifar10
from paper_repro.runs.home import default
from paper_repro.runs.registry import train
from paper_repro.runs.run import Diverged
from paper_repro.runs.spec import SPEED_CHOICES
from paper_repro.runs.speed import lower_priority
from paper_repro.runs.store import StoreWriteError

PROG = "python -m paper_repro"


class _Help(argparse.HelpFormatter):
    """Every option's help ends with its default, unless it has none or already names it; a command's
    usage line is one line: ``PROG COMMAND [options] POSITIONALS`` (its options are listed below it)."""

    def _get_help_string(self, action):
        text = action.help or ""
        d = action.default
        shown = d is not None and d is not False and d not in ("", []) and d is not argparse.SUPPRESS
        if shown and action.option_strings and "(default" not in text:
            text += f" (default: {' '.join(map(str, d)) if isinstance(d, list) else d})"
        return text

    def add_usage(self, usage, actions, groups, prefix=None):
        if usage is None and prefix != "":  # ("": argparse making a command's prog)
            shown = [a for a in actions if not a.option_strings and a.help is not argparse.SUPPRESS]
            words = [self._format_args(a, self._get_default_metavar_for_positional(a)) for a in shown]
            usage = " ".join(["%(prog)s", "[options]", *words])
        super().add_usage(usage, actions, groups, prefix)


class Parser(argparse.ArgumentParser):
    """argparse's parser with the one-line usage and every default in the help; ``fail`` is the error
    line of a command whose arguments parsed but whose config did not hold (no usage line: the
    arguments were well formed)."""

    def __init__(self, *args, **kw):
        kw.setdefault("formatter_class", _Help)
        super().__init__(*args, **kw)

    def fail(self, message: str) -> int:
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        return 2


def _number(name: str, cast, ok, rule: str):
    """An argparse type: ``cast`` the text, then require ``ok(value)``; the error names ``rule``."""

    def parse(s):
        try:
            v = cast(s)
        except ValueError:
            v = None
        if v is None or not ok(v):
            raise argparse.ArgumentTypeError(f"{name} must be {rule}, got {s!r}")
        return v

    return parse


def positive_int(name: str):
    return _number(name, int, lambda v: v > 0, "a positive integer")


def non_negative_int(name: str):
    return _number(name, int, lambda v: v >= 0, "an integer >= 0")


def positive_float(name: str):
    return _number(name, float, lambda v: v > 0, "a number > 0")


def fraction(name: str):
    return _number(name, float, lambda v: 0 < v <= 1, "a number in (0, 1]")


def seed(s: str) -> int:
    """A seed numpy, torch and random all accept: an integer in [0, 2**32 - 1]."""
    return _number("seed", int, lambda v: 0 <= v < 2**32, "an integer in [0, 2**32 - 1]")(s)


def validated(check):
    """An argparse type that runs ``check`` (which raises ValueError naming what is allowed)."""

    def parse(s):
        try:
            check(s)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
        return s

    return parse


def device(s: str) -> str:
    """auto, cpu, cuda or cuda:N, and a CUDA device only where one is present."""
    if s not in ("auto", "cpu", "cuda") and not (s.startswith("cuda:") and s[5:].isdigit()):
        raise argparse.ArgumentTypeError(f"unknown device {s!r}; allowed: auto, cpu, cuda, cuda:N")
    if s.startswith("cuda"):
        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if n == 0:
            raise argparse.ArgumentTypeError(f"device {s!r}: this machine has no CUDA GPU; allowed here: auto, cpu")
        if ":" in s and int(s[5:]) >= n:
            raise argparse.ArgumentTypeError(f"device {s!r}: this machine has {n} CUDA GPU(s): cuda:0 .. cuda:{n - 1}")
    return s


def writable_folder(s: str) -> str:
    """A folder this process can write in, or can create (tried, then removed again: checking an
    argument writes nothing)."""
    p, why = Path(s), None
    for _ in range(100):  # other processes checking the same new path create and remove it meanwhile
        try:
            mode = p.stat().st_mode  # one look: a folder, something else, or nothing yet
        except FileNotFoundError:
            mode = None
        except OSError as e:
            raise argparse.ArgumentTypeError(
                f"{s}: cannot look at this path ({e.strerror}); give a writable folder"
            ) from None
        if mode is not None:
            if not stat.S_ISDIR(mode):
                raise argparse.ArgumentTypeError(f"{s}: not a folder; give a writable folder")
            if os.access(p, os.W_OK | os.X_OK):
                return s
            if p.is_dir():
                raise argparse.ArgumentTypeError(f"{s}: not a writable folder; give a writable folder")
            continue
        created = [a for a in [p, *p.parents] if not a.exists()]
        try:
            p.mkdir(parents=True, exist_ok=True)
        except (FileNotFoundError, FileExistsError) as e:
            why = e.strerror
            continue  # made or removed by another check between this one's steps: look again
        except OSError as e:
            raise argparse.ArgumentTypeError(
                f"{s}: cannot create this folder ({e.strerror}); give a writable folder"
            ) from None
        for a in created:  # deepest first; one that another process has begun to use stays
            try:
                a.rmdir()
            except OSError:
                break
        return s
    raise argparse.ArgumentTypeError(f"{s}: cannot create this folder ({why}); give a writable folder")


def existing_folder(s: str) -> str:
    """A folder that already exists (no data is copied into a folder that a typo made up)."""
    if not Path(s).is_dir():
        raise argparse.ArgumentTypeError(f"{s}: no such folder; create it first or leave the default")
    return s


def run_and_report(directory, fit_call) -> int:
    """What the ``train`` and ``detect`` commands print around ``fit_call()``: where the run lives,
    then its summary as one JSON line. Exit code 0, or 1 (with the reason on stderr) if it diverged."""
    print(f"run: {directory}", flush=True)
    try:
        result = fit_call()
    except Diverged as e:
        print(json.dumps(e.summary, sort_keys=True))
        print(f"paper_repro: {e}", file=sys.stderr)
        return 1
    if result.cached:
        print("finished earlier: stored result", file=sys.stderr)
    print(json.dumps(result.summary, sort_keys=True))
    return 0


# --------------------------------------------------------------------------- flags made from a config's fields
_CHOICES = {**SPEED_CHOICES, "warmup": WARMUPS, "split": SPLITS, "backbone": BACKBONES}
_TYPES = {"seed": seed, "device": device, "workers": non_negative_int("workers")}
_SHORT = {"batch_size": "-b", "workers": "-j"}  # torchvision's reference scripts


def add_fields(parser, cls, flags: dict, types=None, per_profile=None, defaults=None) -> tuple[str, ...]:
    """One flag for each field of the dataclass ``cls`` that ``flags`` names (field -> help): its type
    from ``types``, ``_TYPES``, the choices in ``_CHOICES`` or the field's annotation, its default the
    field's (or ``defaults``'s); a field in ``per_profile`` (field -> {profile: value}) defaults to None,
    the profile's, and its help says each profile's number. Returns the fields, in the dataclass's order."""
    types, per_profile, defaults = types or {}, per_profile or {}, defaults or {}
    made = []
    for f in dataclasses.fields(cls):
        if f.name not in flags:
            continue
        kw = {"dest": f.name, "default": defaults.get(f.name, f.default), "help": flags[f.name].replace("%", "%%")}
        if f.name in per_profile:
            kw["default"] = None
            kw["help"] += f" (default: the profile's: {', '.join(f'{p} {v}' for p, v in per_profile[f.name].items())})"
        if f.type == "bool":
            kw["action"] = "store_true"
        elif f.name in _CHOICES:
            kw["choices"] = _CHOICES[f.name]
        else:
            by_annotation = {"int": positive_int, "float": positive_float}.get(f.type)
            kw["type"] = (
                types.get(f.name) or _TYPES.get(f.name) or (by_annotation or (lambda _: str))(f.name.replace("_", " "))
            )
        parser.add_argument(*filter(None, [_SHORT.get(f.name), "--" + f.name.replace("_", "-")]), **kw)
        made.append(f.name)
    return tuple(made)


def _given(a, names) -> dict:
    """The parsed values of ``names`` that were given or have a default of their own (not None)."""
    return {n: getattr(a, n) for n in names if getattr(a, n) is not None}


def _check_dataset(spec: str) -> None:
    name, path = parse_dataset(spec)
    if name == "imagenet":
        missing = imagenet_missing(path)
        if missing:
            raise ValueError(
                f"{spec}: {path} has no {' or '.join(d + '/' for d in missing)} folder; an ImageNet "
                "folder holds train/<class>/*.JPEG and val/<class>/*.JPEG (torchvision ImageFolder)"
            )


def _weights_file(s: str) -> str:
    if s and not Path(s).is_file():
        raise argparse.ArgumentTypeError(
            f"pretrained weights {s!r} not found: give a torchvision ImageNet state-dict file "
            "(resnet101-63fe2227.pth or vgg16-397923af.pth), or leave --pretrained out to train from scratch"
        )
    return s


_model_name = validated(parse_model_name)


# --------------------------------------------------------------------------- the commands
def _shared() -> dict[str, Parser]:
    """The flags several commands share, each declared here once, as parent parsers."""
    profile, out, data = (Parser(add_help=False) for _ in range(3))
    profile.add_argument(
        "--profile",
        choices=tuple(PROFILES),
        default="cpu",
        help=f"scale of the data and the schedule, the paper's recipe in each: {PROFILES_HELP}",
    )
    out.add_argument(
        "--out",
        default=default("runs"),
        help="run store root: each run is stored, and resumed, in a folder of its own there (plan only reads it)",
    )
    data.add_argument(
        "--data-root",
        type=existing_folder,
        help="an existing folder to read the data sets from and download them into "
        "(default: data/ in the project folder, created when needed)",
    )
    return {"profile": profile, "out": out, "data": data}


def _add_train(t: Parser) -> None:
    t.add_argument("model", nargs="?", type=_model_name, metavar="MODEL", help=MODEL_NAME_HELP)
    t.add_argument(
        "--model", dest="model_option", metavar="MODEL", type=_model_name, help="MODEL, as an option (torchvision's)"
    )
    per_profile = {
        f: {n: getattr(p, f) for n, p in PROFILES.items()} for f in ("dataset", "iterations", "eval_interval")
    }
    fields = add_fields(
        t, RunConfig, RUN_FLAGS, {"dataset": validated(_check_dataset)}, per_profile, {"experiment": "cli"}
    )
    t.set_defaults(fields=fields)


def _add_detect(d: Parser) -> None:
    per_profile = {f: {n: p.canvas[f] for n, p in DETECT_PROFILES.items()} for f in ("iterations", "lr")}
    profile_args = inspect.signature(DetectProfile.run_config).parameters
    defaults = {f: profile_args[f].default for f in ("dataset", "pretrained", "experiment", "seed")}
    types = {"dataset": validated(parse_detection_dataset), "pretrained": _weights_file}
    d.set_defaults(fields=add_fields(d, DetectConfig, DETECT_FLAGS, types, per_profile, defaults))


def _add_bench(b: Parser) -> None:
    b.add_argument("--model", type=_model_name, default=RunConfig.model, help="the net both loops train")
    b.add_argument(
        "-b",
        "--batch-size",
        type=positive_int("batch size"),
        default=RunConfig.batch_size,
        help="mini-batch of both loops",
    )
    b.add_argument("--device", type=device, default=RunConfig.device, help="auto, cpu, cuda or cuda:N")
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
        "-j", "--workers", type=non_negative_int("workers"), default=2, help="DataLoader workers of the usual loop"
    )
    b.add_argument(
        "--accuracy",
        action="store_true",
        help="train the net with both loops (cpu profile's recipe) for each seed and compare final test "
        "errors: engine - usual with its 95%% Welch interval; the runs go to <out>/bench-accuracy",
    )
    b.add_argument(
        "--seeds", nargs="+", type=seed, default=[0, 1, 2], help="with --accuracy: seeds trained by both loops"
    )
    b.add_argument(
        "--switches",
        action="store_true",
        help="steady-state training images/s of each of --models under every speed switch: precision "
        "bf16/fp32 x channels_last on/off, torch.compile (inductor) on the default setting, and "
        "the default setting at each of --threads; one table, and the JSON in --json",
    )
    b.add_argument(
        "--models",
        "--nets",
        nargs="+",
        type=_model_name,
        default=["resnet20", "resnet56"],
        help="with --switches: the nets timed",
    )
    b.add_argument(
        "--threads",
        nargs="+",
        type=positive_int("threads"),
        default=[1, 2],
        help="with --switches: torch thread counts the default setting is timed at",
    )
    b.add_argument("--no-compile", action="store_true", help="with --switches: leave out the torch.compile row")
    b.add_argument("--json", default="bench-switches.json", help="with --switches: where the JSON is written")


def _add_reproduce(r: Parser) -> None:
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


def _add_scale_map(sm: Parser) -> None:
    sm.add_argument(
        "--models",
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
    sm.add_argument(
        "--export-weights",
        action="store_true",
        help="train nothing: write the trained nets of points already in the records file, read from the "
        "finished runs in --out, as safetensors files in the weights/ folder beside the records (the nets "
        "that ship with the book); a point not recorded or not finished in --out: one line, exit 2, "
        "nothing written",
    )


def _add_sweep(sw: Parser) -> None:
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


def _add_plan(pl: Parser) -> None:
    pl.add_argument("--json", action="store_true", help="one JSON object per run instead of the table")


def _add_report(rp: Parser) -> None:
    rp.add_argument(
        "--readme",
        help="rewrite the generated blocks this file holds (README.md, book/08_using.md) instead of printing",
    )


def _add_data(d: Parser) -> None:
    d.add_argument("dataset", choices=("fashion-mnist", "cifar10"), help="the data set")


# --------------------------------------------------------------------------- what each command does
def cmd_train(a) -> int:
    if (a.model and a.model_option and a.model != a.model_option) or not (a.model or a.model_option):
        a.parser.error("name one net: train MODEL or train --model MODEL")
    kw = _given(a, a.fields)
    prof = PROFILES[a.profile]
    if "eval_interval" in kw:  # at most the run's length; the profile puts the checkpoints on it
        kw["eval_interval"] = min(kw["eval_interval"], kw.get("iterations", prof.iterations))
    cfg = prof.run_config(a.model or a.model_option, **kw)
    return run_and_report(cfg.folder(a.out), lambda: train(cfg, out=a.out, data_root=a.data_root or default("data")))


def config_from_args(a) -> DetectConfig:
    """The DetectConfig the parsed ``detect`` arguments ask for (the profile's, then overrides)."""
    return DETECT_PROFILES[a.profile].run_config(**_given(a, a.fields))


def cmd_detect(a) -> int:
    """Run ``python -m paper_repro detect``; 0 when the run finished, 1 when it diverged."""
    cfg = config_from_args(a)
    return run_and_report(cfg.folder(a.out), lambda: train(cfg, out=a.out, data_root=a.data_root or default("data")))


def cmd_bench(a) -> int:
    from paper_repro.book.speed import switches_table
    from paper_repro.classification.bench import BenchSetup, accuracy_report, bench, bench_accuracy, bench_switches

    if a.switches:
        if not Path(a.json).resolve().parent.is_dir():
            return a.parser.fail(f"--json {a.json}: its folder does not exist")
        r = bench_switches(
            a.models,
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
            folders=(a.out, a.data_root or default("data")),
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
    root = a.data_root or default("data")
    if a.dataset == "fashion-mnist":
        print(f"fashion-mnist: {ensure_fashion_mnist(root)}")
    else:
        load_cifar10(root, train=True)
        print(f"cifar10: {root}/cifar-10-batches-py")
    return 0


def cmd_reproduce(a) -> int:
    from paper_repro.reproduce import reproduce

    return reproduce(
        a.profile,
        only=a.only,
        build_book=not a.no_build,
        folders={"imagenet": a.imagenet, "voc_root": a.voc, "coco_root": a.coco, "pretrained_dir": a.pretrained_dir},
        sweep=a.sweep,
    )


def cmd_scale_map(a) -> int:
    from paper_repro.experiments.scale_map import export_stored, extend
    from paper_repro.runs.records import RECORDS
    from paper_repro.runs.records import read as read_records

    path = Path(a.records) if a.records else RECORDS
    if path.exists() and not path.is_file() or not (path.parent.is_dir() or not path.parent.exists()):
        return a.parser.fail(f"--records {path}: not a file")
    changes = {"precision": a.precision} if a.precision != "auto" else {}
    if a.eval_images:
        changes["eval_subset"] = a.eval_images
    if a.eval_interval:
        changes["eval_interval"] = a.eval_interval
    if a.export_weights:
        if not Path(a.out).is_dir():
            return a.parser.fail(f"--out {a.out}: no such run store to export from")
        new = export_stored(a.profile, a.models, a.iterations, a.seeds, a.out, path, changes)
        print(f"{path.parent / 'weights'}: {len(new)} file(s) written")
        return 0
    if a.priority == "low":
        lower_priority()
    new = extend(a.profile, a.models, a.iterations, a.seeds, (a.out, a.data_root or default("data")), path, changes)
    print(f"{path}: {len(new)} new point(s), {len(read_records(path))} in all")
    return 0


def cmd_sweep(a) -> int:
    from paper_repro.experiments.plan import sweep_profile
    from paper_repro.runs.sweep import Placement

    outcomes = sweep_profile(
        a.profile,
        a.out,
        a.data_root or default("data"),
        Placement(address=a.address, gpus_per_run=a.gpus_per_run, cpus_per_run=a.cpus_per_run),
    )
    return 1 if any(o.status != "finished" for o in outcomes) else 0


def cmd_plan(a) -> int:
    from paper_repro.experiments.plan import plan, table

    rows = plan(a.profile, a.out)
    print("\n".join(json.dumps(r, sort_keys=True) for r in rows) if a.json else table(rows))
    return 0


def cmd_report(a) -> int:
    from paper_repro.book.report import summary_markdown, update_readme

    if not a.readme:
        print(summary_markdown(a.profile))
        return 0
    try:
        changed = update_readme(a.readme, a.profile)
    except (ValueError, OSError) as e:
        return a.parser.fail(str(e))
    print(f"{a.readme}: generated blocks {'updated' if changed else 'already current'}")
    return 0


# command: (its help, the shared flags it takes, what adds its own flags, what it does)
COMMANDS = {
    "train": ("train one network through the run store (cached, resumable)", "profile out data", _add_train, cmd_train),
    "detect": (
        "Faster R-CNN with a ResNet-101 (C4) or VGG-16 backbone (§4.3, Tables 7/8)",
        "profile out data",
        _add_detect,
        cmd_detect,
    ),
    "bench": (
        "images/s, or with --accuracy test error, of this engine against the usual DataLoader loop",
        "out data",
        _add_bench,
        cmd_bench,
    ),
    "data": ("make sure a data set is on disk; print where", "data", _add_data, cmd_data),
    "reproduce": (
        "execute every notebook with papermill, then build the book",
        "profile",
        _add_reproduce,
        cmd_reproduce,
    ),
    "report": ("print the reproduced numbers of a profile as a Markdown table", "profile", _add_report, cmd_report),
    "scale-map": (
        "extend the committed scale map: each claim's difference against schedule length",
        "profile out data",
        _add_scale_map,
        cmd_scale_map,
    ),
    "plan": (
        "every run the book trains for a profile: stored or to run, with a measured cost",
        "profile out",
        _add_plan,
        cmd_plan,
    ),
    "sweep": (
        "train every run of the plan that is not stored yet, many at once, as Ray tasks",
        "profile out data",
        _add_sweep,
        cmd_sweep,
    ),
}
READ_ONLY = ("plan",)  # commands that only read the run store: their --out need not be writable
# (and scale-map --export-weights)


def build_parser() -> Parser:
    p = Parser(
        prog=PROG, description="He et al., Deep Residual Learning for Image Recognition (CVPR 2016), reproduced."
    )
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser, metavar="COMMAND")
    shared = _shared()
    for name, (text, flags, add, handler) in COMMANDS.items():
        c = sub.add_parser(name, help=text, parents=[shared[f] for f in flags.split()])
        add(c)
        c.set_defaults(handler=handler, parser=c)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    read_only = args.command in READ_ONLY or getattr(args, "export_weights", False)
    if getattr(args, "out", None) and not read_only:
        try:
            writable_folder(args.out)
        except argparse.ArgumentTypeError as e:
            args.parser.error(f"argument --out: {e}")
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
        return args.parser.fail(str(e))
    except KeyboardInterrupt:
        print("paper_repro: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
