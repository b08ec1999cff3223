"""What every command of ``python -m paper_repro`` shares: the parser that answers a bad argument with
one line and exit code 2, the validated argument types (checked before anything is printed or
written), and the report printed around one training run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch

from paper_repro.runs.run import Diverged


class _Help(argparse.HelpFormatter):
    """Every option's help ends with its default, unless it has none or already names it."""

    def _get_help_string(self, action):
        text = action.help or ""
        if (
            action.default not in (None, False, "", argparse.SUPPRESS)
            and "default" not in text
            and action.option_strings
        ):
            default = " ".join(map(str, action.default)) if isinstance(action.default, list) else action.default
            text += f" (default: {default})"
        return text


class Parser(argparse.ArgumentParser):
    """One line on stderr and exit code 2 for a bad argument (argparse would print its usage too)."""

    def __init__(self, *args, **kw):
        kw.setdefault("formatter_class", _Help)
        super().__init__(*args, **kw)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


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
    p = Path(s)
    if p.exists():
        if not p.is_dir() or not os.access(p, os.W_OK | os.X_OK):
            raise argparse.ArgumentTypeError(f"{s}: not a writable folder; give a writable folder")
        return s
    created = [a for a in [p, *p.parents] if not a.exists()]
    try:
        p.mkdir(parents=True)
    except OSError as e:
        raise argparse.ArgumentTypeError(
            f"{s}: cannot create this folder ({e.strerror}); give a writable folder"
        ) from None
    for a in created:  # deepest first
        a.rmdir()
    return s


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
