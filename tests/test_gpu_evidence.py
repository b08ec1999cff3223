"""gpu_evidence: the prepared GPU measurements run end to end on the CPU (--device cpu --quick), so
that a lent GPU's few minutes are not lost to a typo."""

import json
import subprocess
import sys

import pytest
import torch

from paper_repro.runs.provenance import ROOT


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
