"""The package as a user installs it: `pip wheel .`, installed (not editable) into a fresh environment
and used from an empty folder. train, plan, scale-map and report work there, write only under that
folder (never beside the installed package), and the records name the commit the wheel was built
from. The fresh environment reuses this environment's torch (a .pth line to its site-packages); only
the build requirements come from PyPI."""

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def _run(args, **kw):
    r = subprocess.run(args, capture_output=True, text=True, timeout=900, **kw)
    assert r.returncode == 0, f"{' '.join(map(str, args))}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


@pytest.mark.slow
def test_a_wheel_installs_and_runs_from_an_empty_folder(tmp_path, data_root):
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(wheels)], cwd=ROOT)
    (wheel,) = wheels.glob("paper_repro-*.whl")

    env_dir = tmp_path / "env"
    _run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)])
    py = env_dir / "bin" / "python"
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (site / "test_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # torch & co. from here
    # --ignore-installed: the test env has this project installed too (editable, the same version), which pip
    # would otherwise see through the .pth above, take as "already satisfied", and install nothing
    pip = [sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--ignore-installed", "-q"]
    _run([*pip, str(wheel)])
    installed = _files(env_dir)

    work = tmp_path / "work"
    work.mkdir()
    (work / "data").symlink_to(data_root)  # the data a user already has; everything else is created here
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PAPER_REPRO_HOME")}

    def cli(*args):
        return _run([str(py), "-m", "paper_repro", *map(str, args)], cwd=work, env=env)

    where = _run([str(py), "-c", "import paper_repro; print(paper_repro.__file__)"], cwd=work, env=env).stdout
    assert where.startswith(str(site)), where  # the installed copy, not this checkout

    train = cli("train", "resnet8", "--profile", "smoke", "--iterations", "2", "--eval-interval", "2")
    summary = json.loads(train.stdout.splitlines()[-1])
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    commit = summary["commit"].removesuffix("+dirty")
    assert len(commit) >= 7 and head.startswith(commit), (summary["commit"], head)
    assert summary["version"].startswith("0.")
    assert "runs/cli/" in train.stdout.splitlines()[0] and (work / "runs" / "cli").is_dir()

    assert "resnet" in cli("plan", "--profile", "smoke").stdout
    sm = cli("scale-map", "--profile", "smoke", "--nets", "resnet8", "--iterations", "2", "--seeds", "0")
    assert "1 new point(s)" in sm.stdout
    assert (work / "figures" / "scale-map" / "records.jsonl").is_file()
    cli("report", "--profile", "smoke")

    assert _files(env_dir) == installed  # nothing was written beside the installed package
    assert {p.relative_to(work).parts[0] for p in _files(work)} <= {"runs", "figures", "data"}
