"""gpu_evidence: the prepared GPU measurements run end to end on the CPU (--device cpu --quick), so
that a lent GPU's few minutes are not lost to a typo."""

import json
import subprocess
import sys

import pytest
import torch

from paper_repro.runs.provenance import ROOT


@pytest.mark.slow
def test_every_step_writes_its_json_on_the_cpu(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "paper_repro.tools.gpu_evidence", "--device", "cpu", "--quick", "--out", str(tmp_path)],
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
