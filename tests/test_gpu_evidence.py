"""gpu_evidence: the prepared GPU measurements run end to end on the CPU (--device cpu --quick), so
that a lent GPU's few minutes are not lost to a typo."""

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import torch

from paper_repro.book import gpu
from paper_repro.book.report import GPU_BLOCK, USING, readme_block
from paper_repro.runs import provenance
from paper_repro.runs.provenance import ROOT
from paper_repro.tools import gpu_evidence


@pytest.mark.slow
def test_every_step_writes_its_json_on_the_cpu(tmp_path, data_root):
    runs = tmp_path / "runs"
    r = subprocess.run(
        [sys.executable, "-m", "paper_repro.tools.gpu_evidence", "--device", "cpu", "--quick", "--out", str(tmp_path)]
        + ["--runs", str(runs), "--data-root", str(data_root), "--processes", "2"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    bench = json.loads((tmp_path / "bench.json").read_text())
    assert bench["rows"][0]["ratio"] > 0 and bench["rows"][0]["compiled_images_per_sec"] > 0
    memory = json.loads((tmp_path / "memory.json").read_text())
    assert memory["images_per_sec"] > 0 and memory["peak_memory_gib"] is None  # no GPU: no GPU memory
    packing = json.loads((tmp_path / "packing.json").read_text())
    assert [row["processes"] for row in packing["rows"]] == [1, 2]
    assert all(len(row["images_per_sec_each"]) == row["processes"] for row in packing["rows"])
    assert not (tmp_path / "cuda.json").exists()  # the GPU tests are not run without a GPU
    schedule = json.loads((tmp_path / "schedule.json").read_text())
    assert schedule["returncode"] == 0 and schedule["summary"]["status"] == "finished"
    assert schedule["summary"]["model"] == "resnet56" and schedule["summary"]["dataset"] == "fashion-mnist"
    assert (tmp_path / "schedule" / "metrics.jsonl").exists() and str(runs) in schedule["run"]
    fullmap = json.loads((tmp_path / "fullmap.json").read_text())
    assert sorted(fullmap["final_test_errors"]) == ["plain8 seed 0", "resnet8 seed 0"]
    assert [x["returncode"] for x in fullmap["runs"]] == [0, 0] and fullmap["not_started"] == []
    lines = [json.loads(x) for x in (tmp_path / "records.jsonl").read_text().splitlines()]
    assert sorted(x["net"] for x in lines) == ["plain8", "resnet8"] and {x["iterations"] for x in lines} == {4}
    # the appendix's GPU block never shows a --quick check; the same files, unmarked, give every row
    assert all(json.loads((tmp_path / f"{s}.json").read_text())["quick"] for s in gpu.STEPS if s != "cuda")
    assert gpu.rows(tmp_path) == []
    for name in ("bench", "memory", "packing", "schedule"):
        step = json.loads((tmp_path / f"{name}.json").read_text())
        (tmp_path / f"{name}.json").write_text(json.dumps({**step, "quick": False}))
    rows = gpu.rows(tmp_path)
    assert [r["what"].split()[0] for r in rows] == ["bench", "resnet8", "resnet20", "resnet56"]
    assert rows[1]["result"].startswith("not measured (no GPU)")  # the CPU has no GPU memory to report
    assert "min** of training" in rows[3]["result"] and "fashion-mnist, through `train`" in rows[3]["what"]


def test_the_deadline_stops_the_runs_and_the_next_call_finishes_them(tmp_path, data_root):
    def call(deadline):
        return subprocess.run(
            [sys.executable, "-m", "paper_repro.tools.gpu_evidence", "--device", "cpu", "--quick"]
            + ["--out", str(tmp_path / "out"), "--runs", str(tmp_path / "runs"), "--data-root", str(data_root)]
            + ["--steps", "fullmap", "packing", "--deadline", str(deadline)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=600,
        )

    r = call(0.5)  # less than a start-up: the fullmap runs are stopped, packing does not start
    assert r.returncode == 0, r.stderr
    fullmap = json.loads((tmp_path / "out" / "fullmap.json").read_text())
    assert all(x.get("stopped_at_deadline") for x in fullmap["runs"]) and fullmap["records"] == 0
    assert "packing not started: the deadline has passed" in r.stdout
    assert not (tmp_path / "out" / "packing.json").exists()
    r = call(600)
    assert r.returncode == 0, r.stderr
    fullmap = json.loads((tmp_path / "out" / "fullmap.json").read_text())
    assert fullmap["records"] == 2, fullmap["runs"]  # a failed run's log tail is in its entry
    assert sorted(p.name for p in (tmp_path / "out" / "fullmap-logs").iterdir()) == [
        "plain8-seed0.log",
        "resnet8-seed0.log",
    ]


def test_bad_processes_deadline_or_data_root_get_one_line_and_exit_2(tmp_path):
    for bad in (("--processes", "0"), ("--deadline", "-1"), ("--data-root", str(tmp_path / "none"))):
        r = subprocess.run(
            [sys.executable, "-m", "paper_repro.tools.gpu_evidence", "--device", "cpu", "--out", str(tmp_path / "o")]
            + list(bad),
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, (bad, r.stderr)
        assert not (tmp_path / "o").exists()


def test_without_a_gpu_cuda_is_refused_in_one_line(tmp_path):

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    r = subprocess.run(
        [sys.executable, "-m", "paper_repro.tools.gpu_evidence", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "no CUDA GPU" in r.stderr
    assert not any(tmp_path.iterdir())


def _stamp(step, **kw):
    return {
        "step": step,
        "device": "cuda",
        "hardware": "NVIDIA H200",
        "torch": "2.11.0+cu130",
        "commit": "abc1234",
    } | kw


def test_the_readme_gpu_block_is_generated_from_the_step_files(tmp_path):
    assert readme_block(ROOT / USING, GPU_BLOCK) == gpu.readme_markdown()  # the committed folder, in the appendix
    assert "Not measured yet" in gpu.readme_markdown(tmp_path)
    bench_row = {"model": "resnet20", "batch_size": 128, "iterations": 300, "warmup": 50, "engine_precision": "bf16"}
    bench_row |= {"baseline_images_per_sec": 4000.0, "engine_images_per_sec": 18000.0, "ratio": 4.5}
    bench_row |= {"compiled_images_per_sec": 26000.0, "compiled_ratio": 6.5}
    files = {
        "cuda": _stamp("cuda", returncode=0, summary="9 passed in 41.20s"),
        "bench": _stamp("bench", rows=[bench_row], compiled=True),
        "memory": _stamp("memory", model="resnet1202", batch_size=128, iterations=300, images_per_sec=2100.0)
        | {"precision": "bf16", "peak_memory_gib": 11.234},
        "packing": _stamp("packing", model="resnet20", batch_size=128, iterations=400)
        | {
            "rows": [
                {"processes": k, "images_per_sec_each": [9000.0] * k, "images_per_sec_total": 9000.0 * k}
                for k in (1, 2)
            ]
        },
        "schedule": _stamp("schedule", stopped_at_deadline=True, returncode=None, run="runs/cli/x"),
    }
    for name, step in files.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(step))
    (tmp_path / "schedule").mkdir()
    config = {"model": "resnet56", "iterations": 64000, "batch_size": 128, "milestones": [32000, 48000]}
    (tmp_path / "schedule" / "config.json").write_text(json.dumps(config | {"dataset": "fashion-mnist"}))
    (tmp_path / "schedule" / "metrics.jsonl").write_text('{"iteration": 400}\n{"iteration": 41200}\n')
    (tmp_path / "fullmap.json").write_text(json.dumps(_stamp("fullmap")))  # its records go to the scale map
    rows = gpu.rows(tmp_path)
    assert len(rows) == 5 and all(r["measured with"] == "NVIDIA H200, torch 2.11.0+cu130, commit abc1234" for r in rows)
    assert rows[0]["result"] == "9 passed in 41.20s"
    assert "4,000 images/s" in rows[1]["result"] and "**4.50×**" in rows[1]["result"]
    assert "**6.50×**" in rows[1]["result"] and "goal ≥ 5×: met" in rows[1]["result"]
    assert rows[2]["result"].startswith("**11.2 GiB**, 2,100 images/s") and "resnet1202" in rows[2]["what"]
    assert (
        "2: 18,000 images/s in all (9,000 each)" in rows[3]["result"] and "most in all with **2**" in rows[3]["result"]
    )
    assert "stopped at the call's deadline at iteration 41200 of 64000" in rows[4]["result"]
    assert "lr ÷10 at 32000, 48000" in rows[4]["what"]
    finished = {"status": "finished", "wall_time_s": 170.0, "images_per_sec": 48000.0, "final_eval_error": 0.0612}
    finished |= {"final_eval_images": 10000, "final_train_error": 0.001}
    (tmp_path / "schedule.json").write_text(json.dumps(files["schedule"] | {"summary": finished}))
    assert gpu.rows(tmp_path)[4]["result"].startswith(
        "**2.8 min** of training (48,000 images/s), final test error 6.12%"
    )
    (tmp_path / "bench.json").write_text(json.dumps(files["bench"] | {"quick": True}))
    assert [r["what"].split()[0] for r in gpu.rows(tmp_path)][:2] == ["the", "resnet1202"]


@pytest.fixture
def uncached_commit():
    provenance.git_commit.cache_clear()  # git_commit is cached per process: no test may leak its value
    yield provenance.git_commit
    provenance.git_commit.cache_clear()


def test_a_copy_without_git_takes_its_commit_from_the_environment_or_is_refused(
    monkeypatch, tmp_path, capsys, uncached_commit
):
    no_git = subprocess.CompletedProcess([], 128, stdout="", stderr="fatal: not a git repository")
    monkeypatch.setattr(provenance.subprocess, "run", lambda *a, **k: no_git)
    monkeypatch.delenv("PAPER_REPRO_COMMIT", raising=False)
    assert uncached_commit() == "unknown"
    assert gpu_evidence.main(["--device", "cpu", "--out", str(tmp_path / "o"), "--steps", "memory"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "PAPER_REPRO_COMMIT" in err[0] and not (tmp_path / "o").exists()
    uncached_commit.cache_clear()
    monkeypatch.setenv("PAPER_REPRO_COMMIT", "4775114")
    assert uncached_commit() == "4775114"


def test_collect_brings_a_gpu_calls_files_home_and_refuses_a_quick_one(tmp_path):
    out, into, records = tmp_path / "out", tmp_path / "figures" / "gpu-evidence", tmp_path / "records.jsonl"
    (out / "schedule").mkdir(parents=True)
    (out / "memory.json").write_text(json.dumps(_stamp("memory", quick=False)))
    (out / "fullmap.json").write_text(json.dumps(_stamp("fullmap", quick=False)))
    (out / "schedule" / "summary.json").write_text("{}")
    point = {"net": "resnet20", "seed": 0, "iterations": 64000, "commit": "abc1234"}
    a, b = (
        point | {"config_hash": "a"},
        point | {"config_hash": "b", "weights": "weights/resnet20-s0-64000.safetensors"},
    )
    (out / "records.jsonl").write_text(json.dumps(a) + "\n" + json.dumps(b) + "\n")
    records.write_text(json.dumps(a) + "\n")  # already in the scale map: not appended again
    with pytest.raises(ValueError, match="its weights .* are missing"):  # checked before anything is written
        gpu_evidence.collect(out, into, records)
    assert not into.exists() and len(records.read_text().splitlines()) == 1
    (out / "weights").mkdir()
    (out / "weights" / "resnet20-s0-64000.safetensors").write_bytes(b"net")
    assert gpu_evidence.collect(out, into, records) == {"steps": ["memory"], "records": 1}
    assert sorted(p.name for p in into.iterdir()) == ["memory.json", "schedule"]
    assert [json.loads(x)["config_hash"] for x in records.read_text().splitlines()] == ["a", "b"]
    assert (tmp_path / "weights" / "resnet20-s0-64000.safetensors").read_bytes() == b"net"  # beside the records
    assert gpu_evidence.collect(out, into, records)["records"] == 0  # a second collect adds nothing
    (out / "memory.json").write_text(json.dumps(_stamp("memory", quick=True)))
    with pytest.raises(ValueError, match="--quick"):
        gpu_evidence.collect(out, into, records)
    with pytest.raises(ValueError, match="no step files"):
        gpu_evidence.collect(tmp_path / "empty", into, records)


def test_the_device_call_script_packs_its_results_for_out(tmp_path):
    # what a GPU session runs through the device tool, tried on the CPU with one step
    out, work = tmp_path / "OUT", tmp_path / "tree"
    out.mkdir()
    (work / "evidence" / "weights").mkdir(parents=True)
    # two full-length nets already measured, 20 MiB in all, as random bytes do not compress: they come
    # back in parts under the 16 MiB a file may have, and outside evidence.tgz
    for name in ("resnet56-s0-64000", "resnet110-s0-64000"):
        (work / "evidence" / "weights" / f"{name}.safetensors").write_bytes(os.urandom(10 << 20))
    env = dict(os.environ, DEVICE="cpu", QUICK="1", PAPER_REPRO_COMMIT="abc1234", PYTHONPATH=str(ROOT))
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"  # its python3 is this one

    def session(out):  # $OUT: an empty folder, as the device tool gives it
        out.mkdir(exist_ok=True)
        r = subprocess.run(
            ["bash", str(ROOT / "paper_repro" / "tools" / "gpu_session.sh"), "memory"],
            cwd=work,
            env=env | {"OUT": str(out)},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert r.returncode == 0, r.stdout + r.stderr

    session(out)
    names = ["evidence.tgz", "log.txt", "runs.tgz", "weights.tgz.0", "weights.tgz.1"]
    assert sorted(p.name for p in out.iterdir()) == names
    assert all((out / n).stat().st_size <= 15 << 20 for n in names) and sum((out / n).stat().st_size for n in names) < (
        60 << 20
    )
    assert "gpu_evidence exit code: 0" in (out / "log.txt").read_text()
    (tmp_path / "weights.tgz").write_bytes((out / "weights.tgz.0").read_bytes() + (out / "weights.tgz.1").read_bytes())
    with tarfile.open(tmp_path / "weights.tgz") as t:  # cat weights.tgz.* | tar xzf -
        assert sorted(t.getnames())[-2:] == [
            "evidence/weights/resnet110-s0-64000.safetensors",
            "evidence/weights/resnet56-s0-64000.safetensors",
        ]
    with tarfile.open(out / "evidence.tgz") as t:
        assert "evidence/memory.json" in t.getnames()
        assert not any("weights" in n for n in t.getnames())
        memory = json.load(t.extractfile("evidence/memory.json"))
    assert memory["quick"] is True and memory["images_per_sec"] > 0
    # checkpoints too large to come back beside the nets stay on the machine, and the log says so
    (work / "gpu-runs" / "cifar").mkdir(parents=True)
    (work / "gpu-runs" / "cifar" / "checkpoint.pt").write_bytes(os.urandom(17 << 20))
    session(out := tmp_path / "OUT2")
    assert "runs.tgz" not in [p.name for p in out.iterdir()] and (out / "weights.tgz.1").exists()
    assert "runs.tgz left out" in (out / "log.txt").read_text()
