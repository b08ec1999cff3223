"""Where a number came from: commit, hardware, library versions."""

from __future__ import annotations

import functools
import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import torch

from paper_repro.runs.home import is_checkout

ROOT = Path(__file__).resolve().parents[2]  # the folder the package lies in: read, never written


def built_from() -> tuple[str, str]:
    """(version, commit) that setuptools-scm wrote into ``paper_repro/_version.py`` when this package
    was built; ("unknown", "unknown") when it was not (a checkout used without installing it)."""
    try:  # optional: generated at build time, absent in a checkout that was never installed
        from paper_repro import _version  # noqa: PLC0415
    except ImportError:
        return "unknown", "unknown"
    commit = str(getattr(_version, "commit", None) or "unknown")
    commit = commit[1:8] if commit.startswith("g") else commit[:7]
    return str(getattr(_version, "version", "unknown")), commit + (
        "+dirty" if getattr(_version, "dirty", False) else ""
    )


def package_version() -> str:

    try:
        return version("paper_repro")
    except PackageNotFoundError:
        return built_from()[0]


@functools.cache
def git_commit() -> str:
    """The short commit of this checkout, with '+dirty' when the package has uncommitted changes;
    for an installed package (no checkout around it), the commit it was built from. A copy of the
    tree without its ``.git`` (the one a GPU box receives) has no commit of its own: there the
    environment variable ``PAPER_REPRO_COMMIT``, set by whoever made the copy, names it."""

    if not is_checkout(ROOT):  # never ask git in whatever folder an installed package lies in
        return built_from()[1]
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        if not rev:
            return os.environ.get("PAPER_REPRO_COMMIT") or "unknown"
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "paper_repro"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):  # no git program here
        return os.environ.get("PAPER_REPRO_COMMIT") or "unknown"


@functools.cache
def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@functools.cache
def cpu_flags() -> frozenset[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def hardware(device: str | torch.device = "cpu") -> str:
    device = torch.device(device)
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (1 GPU)"
    return f"{cpu_name()}, {torch.get_num_threads()} threads"


def provenance(device: str | torch.device = "cpu") -> dict:
    return {
        "commit": git_commit(),
        "hardware": hardware(device),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "version": package_version(),
    }
