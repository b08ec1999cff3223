"""The training engine: schedule, warm-up, resume after SIGKILL, corrupted checkpoints,
divergence, caching, bad arguments."""
import json

import pytest
import torch

from paper_repro import store
from paper_repro.config import PROFILES, RunConfig, scaled_milestones
from paper_repro.train import WarmupRule, fit, learning_rate

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
    cfg = RunConfig(**TINY, iterations=40, milestones=(1000,), eval_interval=1, checkpoint_interval=40,
                    warmup="on", warmup_window=5)
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
    cfg = RunConfig(**{**TINY, "eval_subset": 100}, final_eval_subset=300, iterations=4, milestones=(2, 3),
                    eval_interval=2, checkpoint_interval=2)
    r = fit(cfg, out=tmp_path, data_root=data_root, progress=False)
    last = r.metrics[-1]
    assert r.summary["eval_images"] == 100 and r.summary["final_eval_images"] == 300
    assert r.summary["final_eval_error"] == last["final_eval_error"] and "final_eval_error" not in r.metrics[0]
    assert r.summary["best_eval_error"] == min(m["eval_error"] for m in r.metrics)  # the curves' subset
    same = fit(cfg.replace(final_eval_subset=100), out=tmp_path, data_root=data_root, progress=False)
    assert same.summary["final_eval_images"] == 100 and same.summary["final_eval_error"] == same.metrics[-1]["eval_error"]


RESUME_ARGS = ["train", "resnet8", "--profile", "smoke", "--iterations", "12", "--eval-interval", "4", "--batch-size", "64",
               "--device", "cpu", "--precision", "fp32", "--seed", "3"]
COMPARED = ("final_train_error", "final_train_loss", "final_eval_error", "final_eval_loss", "best_eval_error",
            "iterations_done", "status")


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
    assert store.read_metrics(run) == [{**m, "images_per_sec": n["images_per_sec"]} for m, n in
                                       zip(store.read_metrics(store.find_runs(a)[0]), store.read_metrics(run))]


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


def test_nan_loss_stops_the_run_and_says_where(tmp_path, cli):
    args = ["train", "resnet8", "--profile", "smoke", "--iterations", "30", "--eval-interval", "10", "--lr", "1e30",
            "--precision", "fp32", "--out", tmp_path]
    r = cli(*args)
    assert r.returncode == 1, r.stderr
    summary = json.loads(r.stdout.splitlines()[-1])
    assert summary["status"] == "diverged" and 1 <= summary["diverged_at"] <= 30
    assert "diverged" in r.stderr
    stored = json.loads((store.find_runs(tmp_path)[0] / "summary.json").read_text())
    assert stored["diverged_at"] == summary["diverged_at"]
    assert cli(*args).returncode == 1  # asked again: still reported as diverged


@pytest.mark.parametrize("args, needle", [
    (["train", "resnet21"], "6n+2"),
    (["train", "vgg16"], "resnetN or plainN"),
    (["train", "resnet20", "--dataset", "mnist"], "cifar10, fashion-mnist"),
    (["train", "resnet20", "--profile", "huge"], "smoke"),
    (["train", "resnet20", "--lr", "0"], "lr must be a number > 0"),
    (["train", "resnet20", "--lr", "-0.1"], "lr must be a number > 0"),
    (["train", "resnet20", "--iterations", "0"], "iterations must be a positive integer"),
    (["train", "resnet20", "--batch-size", "0"], "batch size must be a positive integer"),
    (["bench", "--model", "resnet19"], "6n+2"),
    (["bench", "--workers", "-1"], "workers must be an integer >= 0"),
    (["train", "resnet20", "--seed", "-1"], "seed must be an integer in [0, 2**32 - 1], got '-1'"),
    (["train", "resnet20", "--seed", str(2 ** 32)], "seed must be an integer in [0, 2**32 - 1]"),
    (["train", "resnet20", "--device", "cuda:7"] if not __import__("torch").cuda.is_available() else
     ["train", "resnet20", "--device", "cuda:99"], "cuda"),
    (["train", "resnet20", "--dataset", "imagenet:/nonexistent/path"],
     "/nonexistent/path has no train/ or val/ folder"),
    (["train", "resnet20", "--data-root", "/nonexistent/dir"], "/nonexistent/dir: no such folder"),
    (["detect", "--seed", "-3"], "seed must be an integer"),
    (["scale-map", "--iterations", "0"], "iterations must be a positive integer"),
])
def test_bad_arguments_exit_2_with_one_line_and_write_nothing(tmp_path, cli, args, needle):
    r = cli(*args, "--out", tmp_path / "runs") if args[0] in ("train", "detect", "scale-map") else cli(*args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], r.stderr
    assert not r.stdout  # nothing printed ("run: ...") before the error
    assert not (tmp_path / "runs").exists()
    assert not __import__("pathlib").Path("/nonexistent/dir").exists()


@pytest.mark.parametrize("out", ["/proc/forbidden", "{tmp}/a_file/runs"])
def test_an_unwritable_run_store_is_refused_before_anything_is_printed(tmp_path, cli, out):
    (tmp_path / "a_file").write_text("not a folder")
    r = cli("train", "resnet20", "--out", out.format(tmp=tmp_path))
    assert r.returncode == 2 and not r.stdout
    assert len(r.stderr.strip().splitlines()) == 1 and "give a writable folder" in r.stderr


def test_a_new_run_store_folder_is_checked_without_being_left_behind(tmp_path):
    from paper_repro.cli import writable_folder

    assert writable_folder(str(tmp_path / "new" / "runs")) == str(tmp_path / "new" / "runs")
    assert not (tmp_path / "new").exists()


def test_help_lists_every_command_and_every_option_says_what_it_does(cli):
    top = cli("--help").stdout
    for command in ("train", "detect", "bench", "data", "reproduce", "report", "scale-map"):
        assert f"    {command}" in top
    assert "``" not in top
    for command in ("train", "bench", "data", "reproduce", "detect", "scale-map", "report"):
        text = cli(command, "--help").stdout
        blocks = text.split("options:")[1].split("\n  --")[1:]
        assert blocks, command
        for block in blocks:
            name = block.split()[0]
            words = [w for w in block.split()[1:] if not (w.isupper() or w.startswith("{") or w.endswith("...]"))]
            assert any(len(w) >= 3 and w.islower() for w in words), f"{command} --{name} has no help: {block!r}"
    assert "01_residual, 02_degradation" in cli("reproduce", "--help").stdout


def test_missing_data_says_how_to_get_it(tmp_path, cli, monkeypatch):
    from paper_repro import data

    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "nowhere")
    with pytest.raises(data.DataMissing, match="apt-get install dataset-fashion-mnist"):
        data.ensure_fashion_mnist(tmp_path / "empty", download=False)
    with pytest.raises(data.DataMissing, match="CIFAR-10 not found"):
        data.load_cifar10(tmp_path / "empty", download=False)


def test_loader_is_seeded_and_resumable(data_root):
    from paper_repro.data import DeviceLoader, load_fashion_mnist, pixel_mean

    d = load_fashion_mnist(data_root).subset(torch.arange(700))
    mean = pixel_mean(d.images)
    a = DeviceLoader(d, 128, mean, seed=5)
    epoch0 = list(a)
    assert len(epoch0) == len(a) == 5 and a.state_dict() == {"epoch": 1, "position": 0}
    b = DeviceLoader(d, 128, mean, seed=5)
    b.load_state_dict({"epoch": 0, "position": 2})
    assert all(torch.equal(x, y) for (x, _), (y, _) in zip(epoch0[2:], b))
    assert not torch.equal(epoch0[0][0], next(iter(DeviceLoader(d, 128, mean, seed=6)))[0])
    x = epoch0[0][0]
    assert x.shape == (128, 1, 32, 32) and abs(float(x.mean())) < 0.1  # mean-subtracted


def test_batch_crop_and_flip_are_real_crops_and_flips():
    from paper_repro.data import random_crop_flip

    x = torch.arange(2 * 1 * 6 * 6, dtype=torch.float32).view(2, 1, 6, 6)
    g = torch.Generator().manual_seed(0)
    out = random_crop_flip(x, 2, g)
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(2):  # every output is some 6x6 window of the padded image, or its mirror
        windows = [padded[i, :, r:r + 6, c:c + 6] for r in range(5) for c in range(5)]
        assert any(torch.equal(out[i], w) or torch.equal(out[i], w.flip(-1)) for w in windows)


# --------------------------------------------------------------------------- concurrent writers
def _start(args, out, env=None):
    import os
    import subprocess
    import sys

    e = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
    return subprocess.Popen([sys.executable, "-m", "paper_repro", *map(str, args), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)


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
    import time

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
