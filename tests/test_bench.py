"""`bench --accuracy`: the engine and the usual loop train the same recipe and differ only in the
loader, the precision and the memory format; their comparison uses claims' one Welch rule."""

import json

import pytest
import torch
from scipy import stats

from paper_repro.classification import bench
from paper_repro.classification.bench import (
    NO_DIFFERENCE,
    BenchSetup,
    accuracy_report,
    bench_accuracy,
    compare_errors,
    usual_loop_train,
)
from paper_repro.classification.config import get_profile
from paper_repro.classification.data import DeviceLoader
from paper_repro.classification.train import fit
from paper_repro.cli import main
from paper_repro.paper import claims
from paper_repro.runs.datasets import Destination

TINY = dict(model="resnet8", iterations=2, profile="smoke", setup=BenchSetup(batch_size=64, workers=0))


# --------------------------------------------------------------------------- the comparison
def test_equal_errors_show_no_difference_beyond_seed_noise():
    r = compare_errors([0.20, 0.21, 0.22], [0.20, 0.21, 0.22])
    assert r["difference"] == pytest.approx(0) and r["low"] < 0 < r["high"] and r["n"] == 3
    assert r["conclusion"] == NO_DIFFERENCE
    # zero spread and equal means: the interval is the point 0, which it contains
    r = compare_errors([0.2] * 3, [0.2] * 3)
    assert r["low"] == r["high"] == 0 and r["conclusion"] == NO_DIFFERENCE


def test_a_clear_difference_names_the_better_loop():
    engine_better = compare_errors([0.10, 0.11, 0.12], [0.20, 0.21, 0.22])
    assert engine_better["high"] < 0 and engine_better["conclusion"].startswith("the engine is better")
    usual_better = compare_errors([0.20, 0.21, 0.22], [0.10, 0.11, 0.12])
    assert usual_better["low"] > 0 and usual_better["conclusion"].startswith("the usual loop is better")
    assert usual_better["engine_mean"] == pytest.approx(0.21) and usual_better["usual_mean"] == pytest.approx(0.11)
    assert usual_better["difference"] == pytest.approx(0.10)


def test_the_sentence_flips_exactly_where_the_interval_leaves_zero():
    usual = [0.20, 0.23, 0.21]
    low = compare_errors([0.30, 0.31, 0.35], usual)["low"]
    # the Welch interval moves with a shift of one side: put its lower end just above, then just below 0
    above = compare_errors([x - low + 1e-9 for x in (0.30, 0.31, 0.35)], usual)
    below = compare_errors([x - low - 1e-9 for x in (0.30, 0.31, 0.35)], usual)
    assert 0 < above["low"] < 1e-8 and above["conclusion"].startswith("the usual loop is better")
    assert -1e-8 < below["low"] < 0 and below["conclusion"] == NO_DIFFERENCE


def test_the_interval_is_claims_welch_interval():

    e, u = [0.19, 0.20, 0.22, 0.18], [0.21, 0.20, 0.23]
    ci = stats.ttest_ind(e, u, equal_var=False).confidence_interval(0.95)
    r = compare_errors(e, u)
    assert (r["low"], r["high"]) == pytest.approx((ci.low, ci.high)) and r["level"] == claims.LEVEL


def test_fewer_than_three_seeds_get_no_interval_and_no_verdict():
    r = compare_errors([0.1, 0.1], [0.9, 0.9])
    assert r["low"] is None and r["high"] is None
    assert r["conclusion"].startswith("2 runs: no verdict") and NO_DIFFERENCE not in r["conclusion"]


# --------------------------------------------------------------------------- the two loops
def test_the_usual_loop_on_the_engines_batches_ends_with_the_engines_fp32_error(tmp_path, data_root, monkeypatch):
    # the recipe, the He initialisation and the evaluation are the engine's: fed the DeviceLoader's
    # batches, the usual loop reproduces fit's fp32/NCHW result exactly
    cfg = get_profile("smoke").run_config(
        "resnet8", "t", seed=1, iterations=3, batch_size=64, precision="fp32", channels_last="off"
    )
    engine = fit(cfg, out=tmp_path, data_root=data_root, progress=False).summary["final_eval_error"]
    usual_loader = bench.usual_loader

    def engine_batches(data, mean, batch_size, device, workers, train=True, seed=0):
        if not train:
            return usual_loader(data, mean, batch_size, device, workers, train=False)
        return DeviceLoader(data, batch_size, mean, Destination(device), train=True, seed=seed).forever()

    monkeypatch.setattr(bench, "usual_loader", engine_batches)
    assert usual_loop_train(cfg, data_root, workers=0) == engine


def test_both_loops_train_the_same_runs_and_report_errors_in_0_1(tmp_path, data_root, capsys):
    r = bench_accuracy(seeds=(0,), folders=(tmp_path, data_root), **TINY)
    assert 0 <= r["engine_errors"][0] <= 1 and 0 <= r["usual_errors"][0] <= 1
    assert r["test_images"] == 256 and r["iterations"] == 2 and r["dataset"] == "fashion-mnist"
    assert r["conclusion"].startswith("one run: no verdict")
    assert len(list((tmp_path / "bench-accuracy").glob("*/summary.json"))) == 1  # the engine's run, in the store
    assert len(list((tmp_path / "bench-accuracy" / "usual-loop").glob("*.json"))) == 1
    # run again: both results are read back, not retrained
    assert bench_accuracy(seeds=(0,), folders=(tmp_path, data_root), **TINY)["usual_wall_s"] == r["usual_wall_s"]
    text = accuracy_report(r).splitlines()
    assert "| seed | engine | usual loop | engine − usual |" in text
    assert any(line.startswith("| 0 |") for line in text)
    assert json.loads(text[-1]) == json.loads(json.dumps(r))


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "args, needle",
    [
        (["--seeds", "0", "-1"], "seed must be an integer in [0, 2**32 - 1], got '-1'"),
        (["--iterations", "0"], "iterations must be a positive integer, got '0'"),
        (["--model", "alexnet"], "unknown model 'alexnet'; allowed: resnetN or plainN"),
    ],
)
def test_bad_accuracy_arguments_exit_2_with_one_line(tmp_path, capsys, args, needle):
    with pytest.raises(SystemExit) as e:
        main(["bench", "--accuracy", "--out", str(tmp_path / "runs"), *args])
    assert e.value.code == 2
    out, err = capsys.readouterr()
    assert not out and len(err.strip().splitlines()) == 2 and needle in err  # argparse's usage, then the error
    assert not (tmp_path / "runs").exists()


def test_bench_prints_both_speeds_and_their_ratio(cli):
    r = cli("bench", "--model", "resnet8", "--iterations", "4", "--batch-size", "32", "--workers", "0")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "this engine :" in out and "usual loop  :" in out and "ratio       :" in out
    data = json.loads(out.strip().splitlines()[-1])
    assert data["engine_images_per_sec"] > 0 and data["baseline_images_per_sec"] > 0
    assert data["ratio"] == pytest.approx(data["engine_images_per_sec"] / data["baseline_images_per_sec"])


# --------------------------------------------------------------------------- speed switches
def test_switch_settings_cover_precision_layout_compile_and_threads():
    s = bench.switch_settings(threads=(1, 2), compile=True)
    grid = {(x["precision"], x["channels_last"]) for x in s if not x["compile"] and x["precision"] != "auto"}
    assert grid == {("bf16", "on"), ("bf16", "off"), ("fp32", "on"), ("fp32", "off")}
    (compiled,) = [x for x in s if x["compile"]]
    assert (compiled["precision"], compiled["channels_last"]) == ("auto", "auto")
    assert sorted(x["threads"] for x in s if x["precision"] == "auto" and not x["compile"]) == [1, 2]
    assert not any(x["compile"] for x in bench.switch_settings(compile=False))


def test_bench_switches_times_every_setting_and_writes_one_table_and_the_json(tmp_path, capsys):

    threads = torch.get_num_threads()
    out = tmp_path / "switches.json"
    code = main(
        [
            "bench",
            "--switches",
            "--nets",
            "resnet8",
            "--threads",
            "1",
            "--no-compile",
            "--iterations",
            "4",
            "--batch-size",
            "16",
            "--device",
            "cpu",
            "--json",
            str(out),
        ]
    )
    assert code == 0 and torch.get_num_threads() == threads  # the thread count is restored
    r = json.loads(out.read_text())
    assert len(r["rows"]) == 5 and {x["net"] for x in r["rows"]} == {"resnet8"}
    for x in r["rows"]:
        assert x["images_per_sec"] > 0 and x["warmup_s"] > 0 and x["timed_iterations"] == 4
        assert x["warmup_iterations"] >= 1
    forced = {(x["precision"], x["channels_last"]): x for x in r["rows"] if x["precision"] != "auto"}
    assert (
        forced[("fp32", "off")]["resolved_precision"] == "fp32"
        and not forced[("fp32", "off")]["resolved_channels_last"]
    )
    assert forced[("bf16", "on")]["resolved_precision"] == "bf16" and forced[("bf16", "on")]["resolved_channels_last"]
    assert [x["threads"] for x in r["rows"]][-1] == 1
    auto = {x["resolved_precision"] for x in r["rows"] if x["precision"] == "auto"}
    assert auto == {"bf16" if r["native_bf16"] else "fp32"}  # what auto picks, and why
    table = capsys.readouterr().out
    assert table.count("| resnet8 |") == 5 and "warm-up" in table and str(out) in table
