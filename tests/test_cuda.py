"""The engine on a CUDA GPU: bf16 autocast, channels_last, fused SGD, the device loader, resume
after SIGKILL. Marked ``cuda`` and skipped where there is no GPU (this project's CPU machines and
CI); ``python -m paper_repro.tools.gpu_evidence`` runs them on a lent GPU (``pytest -m cuda``)."""

import json

import pytest
import torch

from paper_repro.classification.config import RunConfig
from paper_repro.classification.data import DeviceLoader
from paper_repro.classification.train import fit
from paper_repro.runs import store
from paper_repro.runs.datasets import Destination, make_synthetic, pixel_mean
from paper_repro.runs.run import make_optimizer

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run by gpu_evidence)"),
]
TINY = dict(
    model="resnet8",
    dataset="fashion-mnist",
    train_subset=512,
    eval_subset=256,
    batch_size=64,
    iterations=8,
    milestones=(4, 6),
    eval_interval=4,
    checkpoint_interval=4,
    device="cuda",
)


def test_a_run_on_the_gpu_uses_bf16_channels_last_and_fused_sgd(tmp_path, data_root):
    r = fit(RunConfig(**TINY), out=tmp_path, data_root=data_root, progress=False)
    s = r.summary
    assert s["device"].startswith("cuda") and s["precision"] == "bf16" and s["channels_last"]
    assert 0 <= s["final_train_error"] <= 1 and 0 <= s["final_eval_error"] <= 1
    model = torch.nn.Linear(2, 2).cuda()
    assert make_optimizer(model.parameters(), RunConfig(), torch.device("cuda")).defaults["fused"]


def test_the_device_loader_gives_the_gpu_the_batches_it_gives_the_cpu():
    data = make_synthetic(n=256, seed=0)
    mean = pixel_mean(data.images)
    cpu, gpu = (
        DeviceLoader(data, 64, mean, Destination(d, channels_last=True), train=True, seed=3) for d in ("cpu", "cuda")
    )
    for (xc, yc), (xg, yg) in zip(cpu, gpu):
        assert xg.is_cuda and torch.equal(yc, yg.cpu())
        assert torch.allclose(xc, xg.cpu(), atol=1e-6)


def test_sigkill_then_resume_on_the_gpu(tmp_path, cli):
    args = [
        "train",
        "resnet8",
        "--profile",
        "smoke",
        "--iterations",
        "12",
        "--eval-interval",
        "4",
        "--batch-size",
        "64",
        "--device",
        "cuda",
        "--seed",
        "3",
        "--out",
        tmp_path,
    ]
    killed = cli(*args, env={"PAPER_REPRO_SIGKILL_AT": "10"})
    assert killed.returncode == -9
    resumed = cli(*args)
    assert resumed.returncode == 0, resumed.stderr
    assert "from iteration 8" in resumed.stderr
    s = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert s["status"] == "finished" and s["iterations_done"] == 12
    assert [r["iteration"] for r in store.read_metrics(store.find_runs(tmp_path)[0])] == [4, 8, 12]
