"""JupyterLab after the chapters were executed: a real Jupyter server with this project's settings
(jupytext's contents manager, jupytext.toml) opens every chapter through its contents API, both
forms: the ``book/*.py`` source as a notebook and papermill's executed ``book/*.ipynb``.

Collected with the site check (``--book-html``), which ``make test`` runs after executing the book.
"""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from paper_repro.experiments.chapters import NOTEBOOKS

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    exe = Path(sys.executable).with_name("jupyter")
    assert exe.exists() or shutil.which("jupyter"), "jupyter is not installed (make setup)"
    port, token = _free_port(), secrets.token_hex(16)
    runtime = tmp_path_factory.mktemp("jupyter-runtime")
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(runtime))
    proc = subprocess.Popen(
        [
            str(exe) if exe.exists() else "jupyter",
            "server",
            "--no-browser",
            f"--port={port}",
            "--ip=127.0.0.1",
            "--allow-root",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={ROOT}",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(runtime / "server.log", "w"),  # noqa: SIM115 - the server writes it until the fixture ends
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"jupyter server exited: {(runtime / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("jupyter server did not answer within 180 s")
    yield base, token
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:  # a loaded machine: do not let the server outlive the check
        proc.kill()
        proc.wait(timeout=30)


def _get(base, token, path, **query):
    q = "&".join(f"{k}={v}" for k, v in {**query, "token": token}.items())
    try:
        with urllib.request.urlopen(f"{base}/api/contents/{path}?{q}", timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, {"message": e.read().decode()[-500:]}


@pytest.mark.parametrize("chapter", NOTEBOOKS)
def test_the_source_and_the_executed_chapter_both_open_as_notebooks(server, chapter):
    base, token = server
    executed = ROOT / "book" / f"{chapter}.ipynb"
    assert executed.exists(), f"book/{chapter}.ipynb was not executed before this check"
    assert executed.stat().st_mtime >= (ROOT / "book" / f"{chapter}.py").stat().st_mtime
    status, model = _get(base, token, f"book/{chapter}.py", type="notebook", content=1)
    assert status == 200, f"book/{chapter}.py did not open as a notebook: {model.get('message')}"
    assert model["type"] == "notebook" and len(model["content"]["cells"]) > 2
    status, model = _get(base, token, f"book/{chapter}.ipynb", content=1)
    assert status == 200, f"book/{chapter}.ipynb did not open: {model.get('message')}"
    cells = model["content"]["cells"]
    assert model["type"] == "notebook" and any(c.get("outputs") for c in cells if c["cell_type"] == "code")
