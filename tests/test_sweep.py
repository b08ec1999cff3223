"""The sweep: the plan's runs as Ray tasks give the numbers of sequential runs, survive a killed
worker, report a failed run without stopping the others, and refuse bad options in one line."""

import logging
import os

import pytest
import torch

from paper_repro import reproduce as book
from paper_repro.__main__ import main
from paper_repro.classification.train import fit
from paper_repro.experiments import plan
from paper_repro.experiments import plan as plan_module
from paper_repro.experiments import runs as experiments
from paper_repro.runs import store
from paper_repro.runs.sweep import INSTALL_HINT, Placement, gpu_shares, sweep

ray = pytest.importorskip("ray")

# what a run measured (not when or how fast)
RESULT_KEYS = (
    "final_train_error",
    "final_train_loss",
    "final_eval_error",
    "final_eval_loss",
    "best_eval_error",
    "iterations_done",
    "warmup_ended_at",
    "status",
)
KILL_AT = 3  # the smoke profile checkpoints at iteration 3 of 6


@pytest.fixture(scope="module")
def ray_session():
    """One embedded Ray for the module (it takes ~20 s to start on 2 busy cores), whose every task is
    killed with SIGKILL at iteration 3 once (engine's test hook): Ray retries it, and it resumes."""
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        logging_level=logging.ERROR,
        runtime_env={"env_vars": {"PAPER_REPRO_SIGKILL_AT": str(KILL_AT)}},
    )
    yield
    ray.shutdown()


def smoke_runs(*wanted):
    return [r for r in plan.classification_runs("smoke") if (r.name, r.config.seed) in wanted]


def sequential(runs, out, data_root):
    """The same runs, one after another in this process, with the sweep's one thread per run."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return [fit(r.config, out=out, data_root=str(data_root), progress=False).summary for r in runs]
    finally:
        torch.set_num_threads(threads)


# ---------------------------------------------------------------------------- bad options: one line, exit 2
# (before the tests that start the module's Ray: these check that nothing starts one)
def _bad(capsys, *args):
    try:
        code = main(["sweep", *map(str, args)])
    except SystemExit as e:  # argparse's own errors
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "args, says",
    [
        (["--profile", "fast"], "invalid choice: 'fast'"),
        (["--gpus-per-run", "0"], "gpus per run must be a number in (0, 1]"),
        (["--gpus-per-run", "1.5"], "gpus per run must be a number in (0, 1]"),
        (["--cpus-per-run", "0"], "cpus per run must be a positive integer"),
        (
            ["--cpus-per-run", str(len(os.sched_getaffinity(0)) + 1)],
            f"this machine has {len(os.sched_getaffinity(0))} CPU core(s)",
        ),
        (["--address", "127.0.0.1:1"], "no Ray head answers there"),
        (["--address", "10.255.255.1:6379"], "--address 10.255.255.1:6379: "),  # refused, timed out, or no Ray there
        (["--address", "head-node"], "give the Ray head as HOST:PORT"),
    ],
)
def test_a_bad_option_gets_one_line_and_exit_2_before_anything_is_written(capsys, tmp_path, args, says):
    code, out, err = _bad(capsys, "--out", tmp_path / "runs", *args)
    err = err.removeprefix("usage: python -m paper_repro sweep [options]\n")  # argparse's errors come after it
    assert code == 2 and out == "" and err.count("\n") == 1 and says in err, err
    assert err.startswith("python -m paper_repro sweep: error: ")
    assert not (tmp_path / "runs").exists() and not ray.is_initialized()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_gpus_per_run_on_a_machine_without_a_gpu_gets_one_line(capsys, tmp_path):
    code, out, err = _bad(capsys, "--out", tmp_path / "runs", "--gpus-per-run", "0.25")
    assert (code, out) == (2, "") and err == (
        "python -m paper_repro sweep: error: --gpus-per-run 0.25: this machine "
        "has no GPU; leave it out to run on CPU cores\n"
    )


def test_without_ray_sweep_and_reproduce_sweep_say_how_to_install_it(cli, tmp_path):
    fake = tmp_path / "no-ray" / "ray"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named ray')\n")
    env = {"PYTHONPATH": os.pathsep.join(p for p in (str(fake.parent), os.environ.get("PYTHONPATH")) if p)}
    r = cli("sweep", "--profile", "smoke", "--out", tmp_path / "runs", env=env)
    assert (r.returncode, r.stdout, r.stderr) == (2, "", f"python -m paper_repro sweep: error: {INSTALL_HINT}\n")
    r = cli("reproduce", "--profile", "smoke", "--sweep", "--no-build", env=env)
    assert (r.returncode, r.stdout, r.stderr) == (2, "", f"reproduce: error: --sweep: {INSTALL_HINT}\n")
    assert not (tmp_path / "runs").exists()


# ---------------------------------------------------------------------------- same numbers, killed or not
@pytest.mark.slow
def test_a_sweep_whose_workers_are_killed_gives_the_numbers_of_sequential_runs(tmp_path, data_root, ray_session):
    runs = smoke_runs(("plain20", 0), ("resnet20", 1))
    lines = []
    outcomes = sweep(runs, tmp_path / "sweep", data_root, Placement(cpus_per_run=1), say=lambda m, **_: lines.append(m))
    assert [o.status for o in outcomes] == ["finished", "finished"], lines
    # every worker died at iteration 3; Ray started the task again, and it went on from the checkpoint
    assert [o.resumed_from for o in outcomes] == [KILL_AT, KILL_AT]
    assert all(m.endswith(f"resumed from iteration {KILL_AT}") for m in lines[1:3]), lines
    reference = sequential(runs, tmp_path / "seq", data_root)
    by_hash = {o.run.config.hash(): o for o in outcomes}
    for r, ref in zip(runs, reference):
        got = by_hash[r.config.hash()].summary
        assert {k: got[k] for k in RESULT_KEYS} == {k: ref[k] for k in RESULT_KEYS}
        assert curve(r.config, tmp_path / "sweep") == curve(r.config, tmp_path / "seq")
    # stored runs are not trained again
    assert sweep(runs, tmp_path / "sweep", data_root, say=lambda m, **_: lines.append(m)) == []
    assert lines[-1] == "sweep: all 2 runs are stored already"


def curve(cfg, out):
    """Training and test error and loss at every logged iteration (not images/s)."""
    return [
        (m["iteration"], m["train_error"], m["train_loss"], m["eval_error"], m["eval_loss"])
        for m in store.read_metrics(cfg.folder(out))
    ]


# ---------------------------------------------------------------------------- failures are listed, not fatal
@pytest.mark.slow
def test_a_run_that_diverges_or_fails_is_listed_and_the_others_finish(tmp_path, data_root, ray_session):
    [good] = smoke_runs(("resnet20", 0))
    diverges = plan.PlannedRun("test", good.config.replace(lr=1e30, experiment="bad"))
    fails = plan.PlannedRun("test", good.config.replace(dataset="imagenet:/nonexistent", experiment="bad"))
    lines = []
    outcomes = sweep([diverges, good, fails], tmp_path, data_root, say=lambda m, **_: lines.append(m))
    status = {o.run.config.hash(): o.status for o in outcomes}
    assert status == {diverges.config.hash(): "diverged", good.config.hash(): "finished", fails.config.hash(): "failed"}
    assert store.finished_summary(good.config.folder(tmp_path))["status"] == "finished"
    # the end of the sweep: a count, then one line per run that did not finish, saying why
    end = lines[lines.index(next(m for m in lines if m.startswith("sweep: 3 runs in"))) :]
    assert end[0].endswith("1 finished, 2 did not:") and len(end) == 3
    assert any(m.startswith("  diverged resnet20 seed 0 (bad/") and "loss is not finite" in m for m in end)
    assert any(m.startswith("  failed   resnet20 seed 0 (bad/") and "DataMissing" in m for m in end)


# ---------------------------------------------------------------------------- placement
def test_cifar_runs_share_a_gpu_four_at_most_and_no_more_than_it_takes_to_start_them_all():

    runs = plan.classification_runs("full") + plan.detection_runs("full")  # 14 CIFAR nets, 2 detectors
    cifar = [r.name.startswith(("plain", "resnet")) for r in runs]
    assert sum(cifar) == 14
    one_gpu, eight_gpus, sixteen = (gpu_shares(runs, None, g) for g in (1, 8, 16))
    assert [g for g, c in zip(one_gpu, cifar) if c] == [0.25] * 14  # four per GPU
    assert [g for g, c in zip(eight_gpus, cifar) if c] == [0.5] * 14  # 14 on 8 GPUs: two per GPU, all at once
    assert [g for g, c in zip(sixteen, cifar) if c] == [1.0] * 14
    assert [g for g, c in zip(one_gpu, cifar) if not c] == [1.0, 1.0]  # a detector takes a whole GPU
    assert gpu_shares(runs, 0.5, 1) == [0.5] * 16 and gpu_shares(runs, None, 0) == [0.0] * 16


# ---------------------------------------------------------------------------- reproduce --sweep
def test_reproduce_with_sweep_trains_the_plan_first_then_the_chapters_read_it_back(monkeypatch, data_root):

    calls = []
    monkeypatch.setattr(
        plan_module,
        "sweep_profile",
        lambda profile, out, data_root, **kw: calls.append(("sweep", profile, out, data_root)) or [],
    )
    monkeypatch.setattr(book, "execute", lambda src, profile, extra=None: calls.append(("execute", src.stem)))
    assert book.reproduce("smoke", only=["02_degradation", "03_depth"], build_book=False, sweep=True) == 0
    # into the run store and data the chapters read
    assert calls == [
        ("sweep", "smoke", experiments.RUNS, experiments.DATA),
        ("execute", "02_degradation"),
        ("execute", "03_depth"),
    ]
    calls.clear()
    assert book.reproduce("smoke", only=["03_depth"], build_book=False) == 0
    assert calls == [("execute", "03_depth")]  # without --sweep: no Ray at all
