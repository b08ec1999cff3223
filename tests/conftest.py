import os
import subprocess
import sys
from pathlib import Path

import pytest

from paper_repro.runs.datasets import ensure_fashion_mnist

ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser):
    parser.addoption("--book-html", default=None, help="built book to check in headless Chromium (tests/site)")


def pytest_ignore_collect(collection_path, config):
    # the site check needs a built book: collected only when make test asks for it with --book-html
    if "site" in collection_path.parts and config.getoption("--book-html") is None:
        return True
    return None


def run_cli(*args, env=None, cwd=None, timeout=600):
    """Run ``python -m paper_repro ...`` in a subprocess; return the CompletedProcess."""
    e = dict(os.environ, PYTHONUNBUFFERED="1")
    e.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "paper_repro", *map(str, args)],
        capture_output=True,
        text=True,
        env=e,
        cwd=cwd or ROOT,
        timeout=timeout,
    )


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(scope="session")
def data_root():
    """The real Fashion-MNIST files in torchvision's layout (from Debian's package or a download)."""

    root = ROOT / "data"
    ensure_fashion_mnist(root)
    return root
