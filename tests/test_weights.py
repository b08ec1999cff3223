"""Trained nets as safetensors files: weights only, loading runs no code, one call gives the net."""

import json

import pytest
import torch
from safetensors.torch import save_file

from paper_repro import load_trained
from paper_repro.classification.config import RunConfig
from paper_repro.cli import main
from paper_repro.experiments import scale_map as extension
from paper_repro.experiments.shipped import final_error, shipped_responses
from paper_repro.models import build_model
from paper_repro.runs import records, weights
from paper_repro.runs.provenance import hardware
from paper_repro.runs.speed import native_bf16


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
    # precision auto: bf16 where the CPU has it natively, and a control's file names its precision
    assert rec["weights"] == f"weights/resnet20-s0-4{_tail(rec)}.safetensors"
    model, meta = weights.load_trained(path.parent / rec["weights"])
    assert meta["config_hash"] == rec["config_hash"] and meta["final_eval_error"] == rec["final_eval_error"]
    assert model.conv1.weight.shape[1] == 1  # Fashion-MNIST: one channel


def _tail(rec: dict) -> str:
    """The file name's mark of a run in another precision than the map's bf16 (a precision control)."""
    return "" if rec["precision"] == "bf16" else f"-{rec['precision']}"


# --------------------------------------------------------------------------- exporting recorded runs from a store
@pytest.fixture(scope="module")
def recorded_run(tmp_path_factory):
    """A finished 4-iteration smoke run in a run store and the records file that holds its record."""
    tmp = tmp_path_factory.mktemp("recorded")
    path = tmp / "map" / "records.jsonl"
    (rec,) = extension.extend("smoke", ["resnet20"], [4], [0], (str(tmp / "runs"), "data"), path)
    assert "weights" not in rec  # shorter than the paper's 64k: extend exports nothing
    return tmp / "runs", path.read_bytes(), rec


def _records(tmp_path, recorded_run):
    """A copy of the records file in a folder of this test's own (its weights/ folder is the test's)."""
    path = tmp_path / "map" / "records.jsonl"
    path.parent.mkdir()
    path.write_bytes(recorded_run[1])
    return path


def _export(out, path, *args):
    return main(
        ["scale-map", "--export-weights", "--profile", "smoke", "--out", str(out)]
        + ["--nets", "resnet20", "--iterations", "4", "--records", str(path), *args]
    )


@pytest.mark.slow
def test_export_writes_a_recorded_runs_net_from_the_store_and_leaves_the_records_as_they_are(
    tmp_path, capsys, recorded_run
):
    store, before, rec = recorded_run
    path = _records(tmp_path, recorded_run)
    assert weights.weights_for(rec, path.parent / "weights") is None
    assert _export(store, path, "--seeds", "0") == 0
    assert "1 file(s) written" in capsys.readouterr().out
    assert path.read_bytes() == before  # append-only records: the link is the file's name and config hash
    file = weights.weights_for(rec, path.parent / "weights")
    assert file == path.parent / "weights" / f"resnet20-s0-4{_tail(rec)}.safetensors"
    model, meta = weights.load_trained(file)
    for k in ("config_hash", "seed", "iterations", "commit", "precision", "final_eval_error", "final_train_error"):
        assert meta[k] == rec[k], k
    assert RunConfig.from_dict(meta["config"]).hash() == rec["config_hash"]
    assert _export(store, path, "--seeds", "0") == 0  # again: the file is kept as it is
    assert "already holds it" in capsys.readouterr().out


@pytest.mark.slow
def test_export_refuses_a_point_not_recorded_or_not_finished_in_one_line_and_writes_nothing(
    tmp_path, capsys, recorded_run
):
    path = _records(tmp_path, recorded_run)
    assert _export(recorded_run[0], path, "--seeds", "0", "1") == 2  # seed 1 was never measured; seed 0 is not written
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "resnet20 seed 1, 4 iterations" in err[0] and "no record in" in err[0]
    (tmp_path / "empty").mkdir()
    assert _export(tmp_path / "empty", path, "--seeds", "0") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not finished in the run store" in err[0]
    assert not (path.parent / "weights").exists()


# --------------------------------------------------------------------------- the nets that ship with the book
SHIPPED = sorted(weights.WEIGHTS.glob("*.safetensors"))


def _record_of(meta: dict) -> dict:
    found = [r for r in records.read(records.RECORDS) if r["config_hash"] == meta["config_hash"]]
    assert found, f"{meta['net']}: config {meta['config_hash']} is in no record of {records.RECORDS}"
    return found[0]


def test_the_book_ships_its_trained_nets_each_the_net_of_a_record():
    have = {(m["net"], m["seed"], m["iterations"], m["precision"]) for m in weights.shipped()}
    assert {("resnet20", 0, 2400, "fp32"), ("resnet56", 0, 2400, "fp32")} <= have
    for path in SHIPPED:
        meta = weights.metadata(path)
        rec = _record_of(meta)
        for k in ("net", "seed", "iterations", "precision", "commit", "final_eval_error", "final_train_error"):
            assert meta[k] == rec[k], f"{path.name}: {k}"
        assert meta["final_eval_images"] == rec["final_eval_images"] == 10000
        assert RunConfig.from_dict(meta["config"]).hash() == meta["config_hash"]
        assert weights.weights_for(rec) == path
        assert path.stat().st_size < 5e6, f"{path.name}: {path.stat().st_size} bytes"


def test_a_shipped_net_loads_by_its_name_in_one_call():
    model, meta = load_trained("resnet56")
    assert (meta["net"], meta["seed"]) == ("resnet56", 0) and not model.training
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(0.85e6, rel=0.01)
    found = weights.find_shipped("resnet20", iterations=2400, precision="fp32")
    assert found.name == "resnet20-s0-2400-fp32.safetensors"
    with pytest.raises(ValueError, match="no shipped net is resnet20 seed 7; .* holds: .*resnet56 s0 2400 fp32"):
        weights.load_trained("resnet20", seed=7)


def test_the_nets_drawn_together_share_one_schedule_the_one_most_of_them_ship_at():
    def m(net, it, prec="bf16", seed=0):
        return {"net": net, "seed": seed, "iterations": it, "precision": prec}

    short = [m(n, 2400, "fp32") for n in ("plain20", "plain56", "resnet20", "resnet56")]
    long = [m("resnet56", 64000), m("resnet20", 64000, seed=1)]
    assert weights.shipped_together(short + long) == short  # not ResNet-56 at 64k beside the rest at 2400
    full = [m(n, 64000) for n in ("plain20", "plain56", "resnet20", "resnet56")]
    assert weights.shipped_together(short + full) == full  # a tie: the longer
    assert weights.shipped_together(short + full, seed=1) == [] and weights.shipped_together([]) == []


@pytest.mark.slow
@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_each_shipped_net_gives_its_records_test_error_on_the_10000_test_images(path, data_root):
    """The run's final evaluation again, from the file alone: same images, padding and mean, in the
    run's precision. Exact in fp32, and in bf16 on the CPU the run had; bf16 on another CPU rounds in
    other kernels (AMX against AVX-512, or emulated where the CPU has no native bf16: two processors
    both named "AMD EPYC" can differ there), so there a few of the 10,000 images may change sides."""
    rec = _record_of(weights.metadata(path))
    got = final_error(path, data_root)
    assert got["images"] == rec["final_eval_images"] == 10000
    native = native_bf16()  # a bf16 run (precision auto) had native bf16
    if rec["precision"] == "fp32" or (rec["hardware"] == hardware() and native):
        assert got["eval_error"] == rec["final_eval_error"]  # exact: the same loaders and arithmetic as the run's
    else:
        assert abs(got["eval_error"] - rec["final_eval_error"]) <= 10 / 10000, (rec["hardware"], hardware())


@pytest.mark.slow
def test_fig7_of_the_shipped_nets_is_their_records_in_seconds(data_root):
    """Chapter 4's Fig. 7 from the files alone: each layer's response std as its record measured it."""
    nets = sorted({m["net"] for m in weights.shipped() if m["seed"] == 0})
    got = shipped_responses(nets, n_images=1000, data_root=data_root)
    for net in nets:
        fig7 = _record_of(weights.metadata(weights.find_shipped(net)))["fig7"]
        assert fig7["images"] == 1000
        assert got[net] == pytest.approx(fig7["response_std"], rel=1e-6), net


def test_land_brings_new_records_home_with_their_weights_and_a_point_measured_again_is_a_new_record(tmp_path):
    src, home = tmp_path / "worktree" / "records.jsonl", tmp_path / "main" / "records.jsonl"

    def measured(seed, commit, hardware, blob):
        r = {"net": "resnet56", "seed": seed, "iterations": 64000, "config_hash": f"h{seed}", "commit": commit}
        r |= {"hardware": hardware, "weights": f"weights/resnet56-s{seed}-64000.safetensors"}
        path = src.parent / r["weights"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob)
        return r

    old = {"net": "resnet20", "seed": 0, "iterations": 600, "config_hash": "x", "commit": "abc1234"}
    records.append(home, old)
    records.append(src, old)  # the worktree's copy of the map: already home, not appended again
    cpu = measured(0, "a568b1e", "AMD EPYC, 2 threads", b"cpu-net")
    records.append(src, cpu)
    assert extension.land(src, home) == [cpu]
    assert records.read(home) == [old, cpu]
    assert (home.parent / cpu["weights"]).read_bytes() == b"cpu-net"
    assert extension.land(src, home) == []  # a second landing adds nothing

    # the same point (config hash) measured again elsewhere: a new record, its net beside the first one
    gpu = measured(0, "f00dfee", "NVIDIA H200", b"gpu-net")
    src.unlink()
    records.append(src, gpu)
    assert [r["hardware"] for r in extension.land(src, home)] == ["NVIDIA H200"]
    landed = records.read(home)[-1]
    assert (
        landed["config_hash"] == cpu["config_hash"]
        and landed["weights"] == "weights/resnet56-s0-64000-f00dfee.safetensors"
    )
    assert (home.parent / landed["weights"]).read_bytes() == b"gpu-net"
    assert (home.parent / cpu["weights"]).read_bytes() == b"cpu-net"  # the first net stays as it was


def test_land_refuses_uncommitted_code_or_missing_weights_in_one_line_and_writes_nothing(tmp_path):
    src, home = tmp_path / "w" / "records.jsonl", tmp_path / "m" / "records.jsonl"
    ok = {"net": "resnet20", "seed": 1, "iterations": 64000, "config_hash": "a", "commit": "abc1234"}
    dirty = {"net": "resnet20", "seed": 2, "iterations": 600, "config_hash": "b", "commit": "abc1234+dirty"}
    for r in (ok, dirty):
        records.append(src, r)
    with pytest.raises(ValueError, match=r"resnet20 seed 2, 600 iterations: measured by uncommitted code"):
        extension.land(src, home)
    assert not home.exists()
    src.unlink()
    records.append(src, ok | {"weights": "weights/resnet20-s1-64000.safetensors"})
    with pytest.raises(ValueError, match=r"resnet20 seed 1, 64000 iterations: its weights .* are missing"):
        extension.land(src, home)
    assert not home.exists() and not (home.parent / "weights").exists()
    with pytest.raises(ValueError, match="no records file"):
        extension.land(tmp_path / "none.jsonl", home)
