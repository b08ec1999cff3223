"""The run store as a shared disk sees it: a file anyone can put there is data, never code (a crafted
checkpoint runs nothing), and every failure (a full disk, a store that turns read-only, a damaged
line, a hand-edited config) is one line, a clear exit code, and no loss of what was stored."""

import errno
import hashlib
import io
import json
import os
import pickle
import random
import tempfile

import numpy as np
import pytest
import torch

from paper_repro.__main__ import main
from paper_repro.classification.config import RunConfig
from paper_repro.classification.train import fit
from paper_repro.detection.train import load_pretrained
from paper_repro.experiments.plan import seconds_per_iteration
from paper_repro.runs import files, store
from paper_repro.runs import run as run_module
from paper_repro.runs.records import read as read_records

ARGS = ["train", "resnet8", "--profile", "smoke", "--iterations", "6", "--eval-interval", "2", "--precision", "fp32"]


def _train(tmp_path, data_root, capsys, out="runs"):
    """The smoke run of ARGS in ``tmp_path/out``: (exit code, stdout, stderr)."""
    code = main([*ARGS, "--out", str(tmp_path / out), "--data-root", str(data_root)])
    o = capsys.readouterr()
    return code, o.out, o.err


class Payload:
    """A pickle that would create ``marker`` if it were ever unpickled by a full unpickler."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _plant(directory, iteration, data: bytes):
    path = directory / f"checkpoint-{iteration:08d}.pt"
    path.write_bytes(data)
    path.with_suffix(".pt.sha256").write_text(hashlib.sha256(data).hexdigest())
    return path


def _torch_bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


# --------------------------------------------------------------------------- a crafted checkpoint
def test_a_crafted_checkpoint_executes_nothing_and_the_run_resumes_from_the_good_one(
    tmp_path, data_root, capsys, recwarn
):
    code, _, _ = _train(tmp_path, data_root, capsys)
    assert code == 0
    run = store.find_runs(tmp_path / "runs")[0]
    reference = json.loads((run / "summary.json").read_text())
    (run / "summary.json").unlink()  # as if the run had been interrupted
    marker = tmp_path / "pwned"
    evil = _plant(run, 99999999, _torch_bytes({"model": Payload(marker), "iteration": 1, "rng": {}, "elapsed": 0.0}))
    _plant(run, 99999998, pickle.dumps(Payload(marker)))  # a bare pickle, not torch's zip format
    code, out, err = _train(tmp_path, data_root, capsys)
    assert not marker.exists()
    assert code == 0, err
    assert "Traceback" not in err
    refusals = [line for line in err.splitlines() if "ignoring checkpoint" in line]
    assert len(refusals) == 2 and str(evil) in refusals[0] and "posix.system" in refusals[0]
    assert "nothing was executed" in refusals[0]
    assert "from iteration 6" in err  # the newest good checkpoint
    assert not [w for w in recwarn if "pickle protocol" in str(w.message)]  # the refusal's line says it all
    summary = json.loads(out.splitlines()[-1])
    assert summary["final_eval_error"] == reference["final_eval_error"]


def test_safe_loader_refuses_code_and_still_reads_old_checkpoints(tmp_path):
    marker = tmp_path / "pwned"
    _plant(tmp_path, 2, _torch_bytes({"iteration": 2, "rng": {}, "elapsed": 0.0, "x": Payload(marker)}))
    lines = []
    assert store.load_latest_checkpoint(tmp_path, lines.append) is None
    assert not marker.exists() and len(lines) == 1 and "refused by the safe loader" in lines[0]
    # a checkpoint written before the RNG state was plain data: numpy's tuple with a uint32 array
    old = {
        "iteration": 1,
        "elapsed": 0.5,
        "model": {"w": torch.ones(2)},
        "rng": {
            "torch": torch.get_rng_state(),
            "numpy": np.random.get_state(),
            "python": random.getstate(),
            "cuda": None,
        },
    }
    _plant(tmp_path, 1, _torch_bytes(old))
    expected = np.random.rand()  # the draw that follows the saved state
    state = store.load_latest_checkpoint(tmp_path, lines.append)
    assert state is not None and state["iteration"] == 1
    np.random.seed(5)
    run_module.set_rng_state(state["rng"])
    assert np.random.rand() == expected


def test_rng_state_is_plain_data_and_round_trips():
    np.random.seed(3), random.seed(3), torch.manual_seed(3)
    s = run_module.rng_state()
    loaded = torch.load(io.BytesIO(_torch_bytes(s)), weights_only=True)  # no allow-list needed
    expected = (np.random.rand(), random.random(), torch.rand(1).item())
    run_module.set_rng_state(loaded)
    assert (np.random.rand(), random.random(), torch.rand(1).item()) == expected


# --------------------------------------------------------------------------- writes that fail
def _fail_writes_of(monkeypatch, name_part, err=errno.ENOSPC):
    """Every atomic write of a file whose name contains ``name_part`` fails with ``err`` at fsync."""
    real = os.fsync

    def fsync(fd):
        if name_part in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(err, os.strerror(err))
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)


@pytest.mark.parametrize("victim, resumed_from", [("checkpoint-00000004", 2), ("summary.json", 6)])
def test_a_full_disk_keeps_the_last_good_state(tmp_path, data_root, capsys, monkeypatch, victim, resumed_from):
    code, out, _ = _train(tmp_path, data_root, capsys, out="ref")
    reference = json.loads(out.splitlines()[-1])
    with monkeypatch.context() as m:
        _fail_writes_of(m, victim)
        code, out, err = _train(tmp_path, data_root, capsys)
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and "No space left on device" in err and victim in err
    run = store.find_runs(tmp_path / "runs")[0]
    assert not list(run.glob(".*.tmp")) and not (run / "summary.json").exists()
    assert store.load_latest_checkpoint(run)["iteration"] == resumed_from
    code, out, err = _train(tmp_path, data_root, capsys)  # space again: it resumes and ends as it should
    assert code == 0 and f"from iteration {resumed_from}" in err
    assert json.loads(out.splitlines()[-1])["final_eval_error"] == reference["final_eval_error"]


def test_a_store_that_turns_read_only_mid_run_keeps_its_checkpoint(tmp_path, data_root, capsys, monkeypatch):
    real_mkstemp, real_open = tempfile.mkstemp, open
    read_only = {"on": False}

    def mkstemp(*a, **kw):
        if read_only["on"]:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real_mkstemp(*a, **kw)

    def opener(path, mode="r", *a, **kw):
        if read_only["on"] and any(c in mode for c in "aw+"):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real_open(path, mode, *a, **kw)

    real_stop = run_module.maybe_test_stop

    def stop(iteration):
        if iteration == 3:  # after the checkpoint at 2
            read_only["on"] = True
        real_stop(iteration)

    with monkeypatch.context() as m:
        m.setattr(files.tempfile, "mkstemp", mkstemp)
        m.setattr(files, "open", opener, raising=False)
        m.setattr(run_module, "maybe_test_stop", stop)
        code, out, err = _train(tmp_path, data_root, capsys)
    assert code == 1 and len(err.strip().splitlines()) == 1 and "Read-only file system" in err
    run = store.find_runs(tmp_path / "runs")[0]
    assert store.load_latest_checkpoint(run)["iteration"] == 2
    assert [r["iteration"] for r in store.read_metrics(run)] == [2]
    code, _, err = _train(tmp_path, data_root, capsys)
    assert code == 0 and "from iteration 2" in err


# --------------------------------------------------------------------------- damaged files
def test_a_damaged_line_in_the_middle_of_a_jsonl_keeps_every_other_line(tmp_path):
    lines = [json.dumps({"iteration": i, "x": i}) for i in (2, 4, 6, 8)]
    lines[1] = lines[1][:7] + "\x00garbage"
    (tmp_path / "metrics.jsonl").write_text("\n".join(lines) + "\n" + '{"iteration": 10, "x"')  # + a torn last line
    logged = []
    assert [r["iteration"] for r in store.read_metrics(tmp_path, logged.append)] == [2, 6, 8]
    assert len(logged) == 1 and "line 2" in logged[0] and "metrics.jsonl" in logged[0]
    store.truncate_metrics(tmp_path, 6)
    assert [r["iteration"] for r in store.read_metrics(tmp_path)] == [2, 6]


def test_a_damaged_record_of_the_scale_map_is_skipped_not_fatal(tmp_path, capsys):

    path = tmp_path / "records.jsonl"
    path.write_text('{"net": "a"}\n{"net": \n["not", "a", "record"]\n{"net": "b"}\n')
    assert [r["net"] for r in read_records(path)] == ["a", "b"]
    err = capsys.readouterr().err
    assert "line 2" in err and "line 3" in err and len(err.strip().splitlines()) == 2


def test_the_plan_does_not_count_a_detection_run_whose_config_was_edited(tmp_path, capsys):
    from paper_repro.detection.config import profile_config  # noqa: PLC0415 - only this test

    cfg = profile_config("smoke", "resnet101", "fashion-canvas")
    run = cfg.folder(tmp_path / "runs")
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps(cfg.to_dict()))
    summary = {"status": "finished", "iterations_done": 10, "wall_time_s": 5.0}
    (run / "summary.json").write_text(json.dumps(summary))
    assert seconds_per_iteration(tmp_path / "runs") == {("resnet101", "fashion-canvas", cfg.batch_size): 0.5}
    (run / "config.json").write_text(json.dumps({**cfg.to_dict(), "lr": 0.5}))
    assert seconds_per_iteration(tmp_path / "runs") == {}
    assert "does not match its folder" in capsys.readouterr().err


def test_a_hand_edited_config_is_refused_and_nothing_is_overwritten(tmp_path, data_root, capsys):

    code, _, _ = _train(tmp_path, data_root, capsys)
    assert code == 0
    run = store.find_runs(tmp_path / "runs")[0]
    assert list(seconds_per_iteration(tmp_path / "runs")) == [("resnet8", "fashion-mnist", 128)]
    cfg = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**cfg, "lr": 0.5}))
    # the plan reads that store without failing, and does not count a run whose config is not its own
    assert seconds_per_iteration(tmp_path / "runs") == {}
    assert "does not match its folder" in capsys.readouterr().err
    (run / "summary.json").unlink()
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    code, out, err = _train(tmp_path, data_root, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "config.json" in err and "does not match its folder" in err and run.name in err
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


def test_a_summary_that_is_not_an_object_is_treated_as_absent(tmp_path):
    (tmp_path / "summary.json").write_text("[1, 2]")
    logged = []
    assert store.finished_summary(tmp_path, logged.append) is None
    assert len(logged) == 1 and "not an object" in logged[0]


def test_crafted_pretrained_weights_are_refused_in_one_line(tmp_path):

    marker = tmp_path / "pwned"
    evil = tmp_path / "resnet101-evil.pth"
    evil.write_bytes(_torch_bytes({"conv1.weight": Payload(marker)}))
    with pytest.raises(ValueError, match=r"resnet101-evil.pth: it is refused by the safe loader") as e:
        load_pretrained(str(evil))
    assert not marker.exists() and "\n" not in str(e.value)
    good = tmp_path / "resnet101-good.pth"
    good.write_bytes(_torch_bytes({"state_dict": {"conv1.weight": torch.ones(1)}}))
    assert list(load_pretrained(str(good))) == ["conv1.weight"]


def test_an_atomic_write_gets_the_mode_of_a_plain_write_not_mkstemps_private_one(tmp_path):
    plain = tmp_path / "plain"
    plain.write_bytes(b"x")
    files.atomic_write_bytes(tmp_path / "atomic", b"x")
    assert os.stat(tmp_path / "atomic").st_mode & 0o777 == os.stat(plain).st_mode & 0o777


# --------------------------------------------------------------------------- another machine
@pytest.mark.parametrize("began, resumed", [((), ("avx512_bf16",)), (("amx_bf16",), ())], ids=["fp32", "bf16"])
def test_a_run_resumed_where_auto_picks_another_precision_goes_on_in_the_one_it_began_in(
    tmp_path, data_root, capsys, monkeypatch, began, resumed
):
    """Precision ``auto`` resolves per machine: bf16 only where the processor has it natively. A run
    begun on one machine and resumed on another (a parked checkpoint, a shared store) keeps the
    arithmetic it began in: it ends with the numbers of an uninterrupted run on the first machine, and
    its record names that one precision."""
    tiny = dict(model="resnet8", dataset="fashion-mnist", train_subset=512, eval_subset=256, batch_size=64)
    cfg = RunConfig(**tiny, iterations=6, milestones=(4,), eval_interval=2, checkpoint_interval=2)
    monkeypatch.setattr("paper_repro.runs.speed.cpu_flags", lambda: frozenset(began))
    reference = fit(cfg, out=tmp_path / "ref", data_root=data_root, progress=False)
    own = reference.summary["precision"]
    assert own == ("bf16" if began else "fp32")
    monkeypatch.setenv("PAPER_REPRO_STOP_AT", "3")  # after the checkpoint at 2
    with pytest.raises(KeyboardInterrupt):
        fit(cfg, out=tmp_path / "runs", data_root=data_root, progress=False)
    monkeypatch.delenv("PAPER_REPRO_STOP_AT")
    monkeypatch.setattr("paper_repro.runs.speed.cpu_flags", lambda: frozenset(resumed))  # another machine
    capsys.readouterr()
    r = fit(cfg, out=tmp_path / "runs", data_root=data_root, progress=False)
    other = "fp32" if began else "bf16"
    assert f"began in {own}: it goes on in {own}, not in {other} as precision auto" in capsys.readouterr().err
    assert r.resumed_from == 2 and r.summary["precision"] == own
    assert store.load_latest_checkpoint(r.run_dir)["precision"] == own
    strip = ("images_per_sec",)  # the clock's, not the arithmetic's
    assert [{k: v for k, v in m.items() if k not in strip} for m in r.metrics] == [
        {k: v for k, v in m.items() if k not in strip} for m in reference.metrics
    ]
    assert r.summary["final_eval_error"] == reference.summary["final_eval_error"]
