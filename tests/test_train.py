"""fit and the engine under it: the §4.2 schedule and warm-up, the run store (cached runs, final
errors on the whole split, resume after SIGKILL, corrupted checkpoints, divergence) and concurrent
writers."""

import json
import os
import subprocess
import sys
import time

import pytest
import torch

from paper_repro.classification import train as classification_train
from paper_repro.classification.config import PROFILES, RunConfig, scaled_milestones
from paper_repro.classification.train import WarmupRule, fit, learning_rate
from paper_repro.detection import train as detection_train
from paper_repro.runs import store
from paper_repro.runs.run import Tally, make_optimizer

TINY = dict(model="resnet8", dataset="fashion-mnist", train_subset=512, eval_subset=256, batch_size=64)


# --------------------------------------------------------------------------- the schedule


def test_lr_schedule_boundaries_follow_section_4_2():
    cfg = RunConfig()
    assert cfg.milestones == (32000, 48000) and cfg.iterations == 64000
    assert learning_rate(0, cfg) == 0.1
    assert learning_rate(31999, cfg) == 0.1
    assert learning_rate(32000, cfg) == pytest.approx(0.01)
    assert learning_rate(47999, cfg) == pytest.approx(0.01)
    assert learning_rate(48000, cfg) == pytest.approx(0.001)
    assert learning_rate(63999, cfg) == pytest.approx(0.001)
    assert learning_rate(100, cfg, warming_up=True) == 0.01


def test_scaled_milestones_keep_the_paper_proportions():
    assert scaled_milestones(64000) == (32000, 48000)
    assert scaled_milestones(400) == (200, 300)
    assert PROFILES["full"].run_config("resnet110", "x").milestones == (32000, 48000)


def test_warmup_applies_to_110_and_1202_only():
    assert RunConfig(model="resnet110").uses_warmup() and RunConfig(model="resnet1202").uses_warmup()
    assert not RunConfig(model="resnet56").uses_warmup()
    assert RunConfig(model="resnet20", warmup="on").uses_warmup()


def test_warmup_rule_returns_to_0_1_once_training_error_is_below_80_percent():
    cfg = RunConfig(model="resnet110", warmup_window=3)
    rule = WarmupRule(cfg)
    for it, err in enumerate([0.9, 0.9, 0.85, 0.8, 0.7]):
        assert rule.active and learning_rate(it, cfg, rule.active) == 0.01
        rule.update(it, err)
    # the mean of the last 3 batches falls below 80% after iteration 4: (0.85 + 0.8 + 0.7) / 3
    assert not rule.active and rule.ended_at == 5
    assert learning_rate(5, cfg, rule.active) == 0.1  # back to 0.1, not stuck at 0.01


def test_warmup_run_goes_back_to_lr_0_1(tmp_path, data_root):
    # a real run: lr 0.01 while the running training error is >= 80%, then the normal 0.1
    cfg = RunConfig(
        **TINY, iterations=40, milestones=(1000,), eval_interval=1, checkpoint_interval=40, warmup="on", warmup_window=5
    )
    r = fit(cfg, out=tmp_path, data_root=data_root, progress=False)
    ended = r.summary["warmup_ended_at"]
    assert ended is not None and 5 <= ended < 40
    lrs = {m["iteration"]: m["lr"] for m in r.metrics}
    assert lrs[ended] == 0.01 and lrs[ended + 1] == 0.1 and lrs[40] == 0.1


# --------------------------------------------------------------------------- the run store
def test_finished_run_is_returned_without_training(tmp_path, data_root):
    cfg = RunConfig(**TINY, iterations=4, milestones=(2, 3), eval_interval=2, checkpoint_interval=2)
    first = fit(cfg, out=tmp_path, data_root=data_root, progress=False)
    d = first.run_dir
    assert {p.name for p in d.iterdir()} >= {"config.json", "metrics.jsonl", "summary.json"}
    assert store.list_checkpoints(d) and json.loads((d / "config.json").read_text())["model"] == "resnet8"
    assert len(first.metrics) == 2 and first.summary["status"] == "finished"
    again = fit(cfg, out=tmp_path, data_root=data_root, progress=False)
    assert again.cached and again.summary == first.summary


def test_final_errors_use_the_whole_test_split_while_curves_use_the_subset(tmp_path, data_root):
    cfg = RunConfig(
        **{**TINY, "eval_subset": 100},
        final_eval_subset=300,
        iterations=4,
        milestones=(2, 3),
        eval_interval=2,
        checkpoint_interval=2,
    )
    r = fit(cfg, out=tmp_path, data_root=data_root, progress=False)
    last = r.metrics[-1]
    assert r.summary["eval_images"] == 100 and r.summary["final_eval_images"] == 300
    assert r.summary["final_eval_error"] == last["final_eval_error"] and "final_eval_error" not in r.metrics[0]
    assert r.summary["best_eval_error"] == min(m["eval_error"] for m in r.metrics)  # the curves' subset
    same = fit(cfg.replace(final_eval_subset=100), out=tmp_path, data_root=data_root, progress=False)
    assert (
        same.summary["final_eval_images"] == 100 and same.summary["final_eval_error"] == same.metrics[-1]["eval_error"]
    )


RESUME_ARGS = [
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
    "cpu",
    "--precision",
    "fp32",
    "--seed",
    "3",
]
COMPARED = (
    "final_train_error",
    "final_train_loss",
    "final_eval_error",
    "final_eval_loss",
    "best_eval_error",
    "iterations_done",
    "status",
)


def test_sigkill_then_resume_equals_an_uninterrupted_run(tmp_path, cli):
    a, b = tmp_path / "a", tmp_path / "b"
    whole = cli(*RESUME_ARGS, "--out", a)
    assert whole.returncode == 0, whole.stderr
    killed = cli(*RESUME_ARGS, "--out", b, env={"PAPER_REPRO_SIGKILL_AT": "10"})
    assert killed.returncode == -9  # a real SIGKILL, after the checkpoint at 8 and before the end
    run = store.find_runs(b)[0]
    assert not (run / "summary.json").exists()
    assert [r["iteration"] for r in store.read_metrics(run)] == [4, 8]
    resumed = cli(*RESUME_ARGS, "--out", b)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stderr and "from iteration 8" in resumed.stderr
    sa, sb = json.loads(whole.stdout.splitlines()[-1]), json.loads(resumed.stdout.splitlines()[-1])
    assert {k: sa[k] for k in COMPARED} == {k: sb[k] for k in COMPARED}
    assert store.read_metrics(run) == [
        {**m, "images_per_sec": n["images_per_sec"]}
        for m, n in zip(store.read_metrics(store.find_runs(a)[0]), store.read_metrics(run))
    ]


def test_corrupted_checkpoint_is_reported_and_not_trusted(tmp_path, data_root, capsys):
    cfg = RunConfig(**TINY, iterations=6, milestones=(3, 5), eval_interval=2, checkpoint_interval=2)
    full = fit(cfg, out=tmp_path / "ref", data_root=data_root, progress=False)
    r = fit(cfg, out=tmp_path / "x", data_root=data_root, progress=False)
    d = r.run_dir
    ckpts = store.list_checkpoints(d)
    assert [p.name for p in ckpts] == ["checkpoint-00000006.pt", "checkpoint-00000004.pt"]
    # pretend the run was interrupted at 6: no summary; then corrupt the newest checkpoint
    (d / "summary.json").unlink()
    data = bytearray(ckpts[0].read_bytes())
    data[len(data) // 2] ^= 0xFF
    ckpts[0].write_bytes(bytes(data))
    capsys.readouterr()
    again = fit(cfg, out=tmp_path / "x", data_root=data_root, progress=False)
    err = capsys.readouterr().err
    assert "ignoring checkpoint" in err and "checkpoint-00000006.pt" in err and "do not match" in err
    assert "from iteration 4" in err
    assert again.summary["final_eval_error"] == full.summary["final_eval_error"]
    # a truncated file (a kill in the middle of a copy) is refused in the same way
    (d / "summary.json").unlink()
    for p in store.list_checkpoints(d):
        p.write_bytes(p.read_bytes()[:100])
    fit(cfg, out=tmp_path / "x", data_root=data_root, progress=False)
    err = capsys.readouterr().err
    assert err.count("ignoring checkpoint") == 2 and "resuming" not in err


def test_both_tasks_build_sgd_with_the_one_builder_and_train_only_what_is_trained():
    assert classification_train.make_optimizer is detection_train.make_optimizer is make_optimizer
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(3, 2))
    model[0].requires_grad_(False)  # a detector's frozen layers
    opt = make_optimizer(model.parameters(), RunConfig(), torch.device("cpu"))
    assert opt.defaults["foreach"] and not opt.defaults["fused"]  # fused on a GPU (tests/test_cuda.py)
    assert opt.param_groups[0]["params"] == list(model[1].parameters())
    assert (opt.defaults["lr"], opt.defaults["momentum"], opt.defaults["weight_decay"]) == (0.1, 0.9, 1e-4)


def test_the_tally_names_the_first_step_whose_loss_was_not_finite_counted_from_1():
    tally = Tally(torch.device("cpu"))
    tally.check_every = 4  # as on a GPU: the host looks only every few steps
    losses = [1.0, 2.0, float("nan"), float("inf"), 3.0]
    found = []
    for done, loss in enumerate(losses, 1):
        tally.add(1, torch.tensor(loss), loss=torch.tensor(loss))
        found.append(tally.first_nonfinite(done, force=done == len(losses)))
    assert found == [None, None, None, 3, None]  # checked at step 4: the 3rd step's loss was NaN
    tally.add(1, torch.tensor(float("nan")))
    assert tally.first_nonfinite(6, force=True) == 6


def test_nan_loss_stops_the_run_and_says_where(tmp_path, cli):
    args = [
        "train",
        "resnet8",
        "--profile",
        "smoke",
        "--iterations",
        "30",
        "--eval-interval",
        "10",
        "--lr",
        "1e30",
        "--precision",
        "fp32",
        "--out",
        tmp_path,
    ]
    r = cli(*args)
    assert r.returncode == 1, r.stderr
    summary = json.loads(r.stdout.splitlines()[-1])
    assert summary["status"] == "diverged" and 1 <= summary["diverged_at"] <= 30
    assert "diverged" in r.stderr
    stored = json.loads((store.find_runs(tmp_path)[0] / "summary.json").read_text())
    assert stored["diverged_at"] == summary["diverged_at"]
    assert cli(*args).returncode == 1  # asked again: still reported as diverged


def _start(args, out, env=None):

    e = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
    return subprocess.Popen(
        [sys.executable, "-m", "paper_repro", *map(str, args), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=e,
    )


def test_two_processes_on_one_run_train_it_once(tmp_path, cli):
    """Two terminals (or two papermill jobs) start the same run: one trains, the other waits and reads
    the result back; one metrics line per logged iteration, one summary."""
    a, b = _start(RESUME_ARGS, tmp_path), _start(RESUME_ARGS, tmp_path)
    outs = [p.communicate(timeout=600) for p in (a, b)]
    assert a.returncode == 0 and b.returncode == 0, outs
    summaries = [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]
    assert summaries[0] == summaries[1]
    assert sum("finished earlier: stored result" in err for _, err in outs) == 1
    run = store.find_runs(tmp_path)[0]
    assert [r["iteration"] for r in store.read_metrics(run)] == [4, 8, 12]


def test_a_waiter_takes_over_when_the_holder_is_killed(tmp_path, cli):
    """kill -9 of the process that holds a run releases its lock; the waiter resumes from the last
    checkpoint and ends with the numbers of an uninterrupted run."""

    whole = cli(*RESUME_ARGS, "--out", tmp_path / "whole")
    assert whole.returncode == 0, whole.stderr
    holder = _start(RESUME_ARGS, tmp_path / "shared", env={"PAPER_REPRO_SIGKILL_AT": "10"})
    deadline = time.time() + 300
    while not list((tmp_path / "shared").glob("*/*/metrics.jsonl")) and time.time() < deadline:
        time.sleep(0.2)
    waiter = _start(RESUME_ARGS, tmp_path / "shared")
    holder.communicate(timeout=600)
    out, err = waiter.communicate(timeout=600)
    assert holder.returncode == -9 and waiter.returncode == 0, err
    assert "resuming" in err and "from iteration 8" in err
    got, want = json.loads(out.strip().splitlines()[-1]), json.loads(whole.stdout.strip().splitlines()[-1])
    assert {k: got[k] for k in COMPARED} == {k: want[k] for k in COMPARED}
    run = store.find_runs(tmp_path / "shared")[0]
    assert [r["iteration"] for r in store.read_metrics(run)] == [4, 8, 12]
