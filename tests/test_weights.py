"""Trained nets as safetensors files: weights only, loading runs no code, one call gives the net."""

import json

import pytest
import torch
from safetensors.torch import save_file

from paper_repro.experiments import scale_map as extension
from paper_repro.models import build_model
from paper_repro.runs import weights


def test_a_saved_net_loads_in_one_call_and_computes_the_same_outputs(tmp_path):
    torch.manual_seed(0)
    model = build_model("resnet20", num_classes=10, in_channels=1).eval()
    with torch.no_grad():  # BN statistics that are not the defaults, so a lost buffer would show
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    meta = {"net": "resnet20", "in_channels": 1, "num_classes": 10, "config_hash": "abc", "final_eval_error": 0.05}
    path = weights.save_trained(model, tmp_path / weights.file_name("resnet20", 0, 64000), meta)
    assert path.name == "resnet20-s0-64000.safetensors"
    loaded, got = weights.load_trained(path)
    assert got == meta and not loaded.training
    x = torch.randn(4, 1, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))


def test_a_file_that_is_not_ours_is_refused_in_one_line(tmp_path):
    path = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(path), metadata={"format": json.dumps("pt")})
    with pytest.raises(ValueError, match="not a paper_repro weights file"):
        weights.load_trained(path)
    with pytest.raises(ValueError, match="needs net, config_hash"):
        weights.save_trained(torch.nn.Linear(2, 2), tmp_path / "x.safetensors", {})


def test_a_full_length_point_of_the_map_saves_its_net_beside_the_records(tmp_path, monkeypatch):
    """extend() writes the weights of a run at the paper's length and names them in its record."""
    monkeypatch.setattr(extension.paper, "ITERATIONS", 4)  # a smoke run stands for the paper's length
    path = tmp_path / "map" / "records.jsonl"
    (rec,) = extension.extend("smoke", ["resnet20"], [4], [0], (str(tmp_path / "runs"), "data"), path)
    assert rec["weights"] == "weights/resnet20-s0-4.safetensors"
    model, meta = weights.load_trained(path.parent / rec["weights"])
    assert meta["config_hash"] == rec["config_hash"] and meta["final_eval_error"] == rec["final_eval_error"]
    assert model.conv1.weight.shape[1] == 1  # Fashion-MNIST: one channel
