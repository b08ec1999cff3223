"""Live training in JupyterLab (paper_repro.experiments.live) and the hook under it
(runs.progress.Watcher): the watchers hear every iteration and metrics row in order without
changing what a run computes or writes; nothing is displayed where no person watches; and what a
notebook keeps of a live run is its final state only: no bar, no widget, no half-drawn frame."""

import base64
import json
import os
import sys
import types

import IPython
import IPython.display
import nbformat
import pytest

from paper_repro.classification.config import RunConfig
from paper_repro.classification.train import fit
from paper_repro.experiments import live
from paper_repro.runs import store
from paper_repro.runs.progress import ENV as RELAY_ENV
from paper_repro.runs.progress import Watcher, watchers, watching

TINY = dict(
    model="resnet8", dataset="fashion-mnist", train_subset=512, eval_subset=256, final_eval_subset=256, batch_size=64
)
CFG = RunConfig(**TINY, iterations=6, milestones=(4,), eval_interval=2, checkpoint_interval=2)
TIMING = ("images_per_sec",)  # what differs between two runs of the same config: the clock


class Recorder(Watcher):
    def __init__(self):
        self.events = []

    def begin(self, desc, total, initial, rows):
        self.events.append(("begin", desc, total, initial, [r["iteration"] for r in rows]))

    def step(self, done):
        self.events.append(("step", done))

    def row(self, row):
        self.events.append(("row", dict(row)))

    def end(self, done, error):
        self.events.append(("end", done, type(error).__name__ if error else None))


def _same_numbers(a: list[dict], b: list[dict]) -> bool:
    return [{k: v for k, v in r.items() if k not in TIMING} for r in a] == [
        {k: v for k, v in r.items() if k not in TIMING} for r in b
    ]


# --------------------------------------------------------------------------- the hook
def test_watchers_hear_each_iteration_and_row_in_order_and_change_nothing(tmp_path, data_root):
    seen = Recorder()
    with watching(seen):
        watched = fit(CFG, out=tmp_path / "watched", data_root=data_root, progress=False)
    assert watchers() == ()  # the block's end takes the watcher away
    plain = fit(CFG, out=tmp_path / "plain", data_root=data_root, progress=False)

    assert seen.events[0] == ("begin", "resnet8 seed 0", 6, 0, [])
    assert seen.events[-1] == ("end", 6, None)
    middle = seen.events[1:-1]
    assert [e[1] for e in middle if e[0] == "step"] == [1, 2, 3, 4, 5, 6]
    rows = [e[1] for e in middle if e[0] == "row"]
    assert rows == watched.metrics == store.read_metrics(watched.run_dir)  # every row, in order, as stored
    # each row comes before the step that ends its iteration, after the step before it
    order = [e[1] if e[0] == "step" else f"row{e[1]['iteration']}" for e in middle]
    assert order == [1, "row2", 2, 3, "row4", 4, 5, "row6", 6]
    # watching changes nothing a run computes or writes
    assert watched.run_dir.name == plain.run_dir.name and _same_numbers(watched.metrics, plain.metrics)
    assert (watched.run_dir / "config.json").read_bytes() == (plain.run_dir / "config.json").read_bytes()
    assert watched.summary["final_eval_error"] == plain.summary["final_eval_error"]


def test_a_stopped_run_says_so_and_its_resumption_begins_with_the_rows_it_kept(tmp_path, data_root, monkeypatch):
    seen = Recorder()
    monkeypatch.setenv("PAPER_REPRO_STOP_AT", "5")
    with watching(seen), pytest.raises(KeyboardInterrupt):
        fit(CFG, out=tmp_path, data_root=data_root, progress=False)
    assert seen.events[-1] == ("end", 5, "KeyboardInterrupt")
    monkeypatch.delenv("PAPER_REPRO_STOP_AT")
    again = Recorder()
    with watching(again):
        r = fit(CFG, out=tmp_path, data_root=data_root, progress=False)
    assert again.events[0] == ("begin", "resnet8 seed 0", 6, 4, [2, 4])  # from the checkpoint at 4
    assert [e[1]["iteration"] for e in again.events if e[0] == "row"] == [6] and again.events[-1] == ("end", 6, None)
    assert [m["iteration"] for m in r.metrics] == [2, 4, 6]
    with watching(again):  # a stored run is read back: nothing to watch
        assert fit(CFG, out=tmp_path, data_root=data_root, progress=False).cached
    assert again.events[-1] == ("end", 6, None) and len([e for e in again.events if e[0] == "begin"]) == 1


def test_a_watcher_that_fails_is_dropped_and_the_run_goes_on(tmp_path, data_root, capsys):
    class Broken(Watcher):
        def row(self, row):
            raise ValueError("no display")

    seen = Recorder()
    with watching(Broken(), seen):
        r = fit(CFG, out=tmp_path, data_root=data_root, progress=False)
    assert r.summary["status"] == "finished" and len([e for e in seen.events if e[0] == "row"]) == 3
    assert capsys.readouterr().err.count("progress display Broken failed") == 1


# --------------------------------------------------------------------------- when it is live
def _fake_shell(monkeypatch, allow_stdin):
    kernel = None if allow_stdin is None else types.SimpleNamespace(_allow_stdin=allow_stdin)
    shell = types.SimpleNamespace(kernel=kernel)
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)


@pytest.mark.parametrize(
    "allow_stdin, env, expected",
    [
        (None, {}, False),  # a terminal or a plain IPython: no kernel, no displays
        (None, {live.ENV: "1"}, False),  # forcing needs a kernel to display in
        (False, {}, False),  # papermill, nbconvert, Jupyter Book, nbval: no stdin
        (True, {}, True),  # JupyterLab
        (True, {live.ENV: "0"}, False),  # reproduce's papermill runs, or a person who wants none
        (True, {RELAY_ENV: "/tmp/relay.txt"}, False),  # reproduce relays the bars to its terminal
        (False, {live.ENV: "1"}, True),  # forced in a batch kernel (the notebook test below)
    ],
)
def test_live_only_where_a_person_watches(monkeypatch, allow_stdin, env, expected):
    for name in (live.ENV, RELAY_ENV):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    _fake_shell(monkeypatch, allow_stdin)
    assert live.interactive() is expected


def test_nothing_is_displayed_outside_an_interactive_kernel(tmp_path, data_root, monkeypatch):
    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: shown.append((a, k)))
    monkeypatch.delenv(live.ENV, raising=False)
    assert not live.interactive()  # pytest runs in no kernel
    with live.session() as shown_live:
        assert shown_live is None and watchers() == ()
        fit(CFG, out=tmp_path, data_root=data_root, progress=False)
    assert shown == []


class FakeNotebook:
    """IPython's display with display ids, as a notebook keeps it: one output per display, each
    update replacing its bundle; every bundle ever shown is kept to look at."""

    def __init__(self):
        self.outputs, self.history = [], []

    def __call__(self, bundle, raw, display_id):
        assert raw and display_id is True
        index = len(self.outputs)
        self.outputs.append(bundle)
        self.history.append(bundle)
        nb = self

        class Handle:
            def update(self, new, raw):
                assert raw
                nb.outputs[index] = new
                nb.history.append(new)

        return Handle()


def test_a_live_session_leaves_the_final_curve_and_no_bar(tmp_path, data_root):
    nb = FakeNotebook()
    session = live.Live(display=nb, min_interval=0)
    with watching(session):
        fit(CFG, out=tmp_path, data_root=data_root, progress=False)
        fit(CFG.replace(seed=1), out=tmp_path, data_root=data_root, progress=False)
    session.close()
    bars = [b for b in nb.history if "text/html" in b and "<progress" in b["text/html"]]
    assert any("resnet8 seed 0: 3/6 it" in b["text/plain"] for b in bars)  # the bar moved while it trained
    assert any("test error" in b["text/plain"] and "seed 1" in b["text/plain"] for b in bars)
    frames = [b for b in nb.history if "image/png" in b]
    assert len(frames) == session.frames == 3 + 3 + 1  # one per row, then the final one
    # what stays: one bar output above the curve, which both runs used in turn (so the second run's bar
    # does not appear below the first run's printed line), emptied; one curve, its final frame with both runs
    assert len(nb.outputs) == 2 and nb.outputs[0] == live.EMPTY
    curve = nb.outputs[1]
    assert curve["text/plain"] == "<training curves of the 2 runs trained in this cell, final>"
    assert base64.b64decode(curve["image/png"]).startswith(b"\x89PNG")


def test_the_curves_legend_names_each_runs_length_where_the_lengths_differ():
    same = [{"desc": "resnet20 seed 0", "total": 60}, {"desc": "plain20 seed 0", "total": 60}]
    assert live.run_labels(same) == ["resnet20 seed 0", "plain20 seed 0"]
    both = [{"desc": "plain20 seed 0", "total": 60}, {"desc": "plain20 seed 0", "total": 120}]
    assert live.run_labels(both) == ["plain20 seed 0, 60 it.", "plain20 seed 0, 120 it."]


# --------------------------------------------------------------------------- a real kernel
def _execute(tmp_path, data_root, env: dict) -> nbformat.NotebookNode:
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    code = f"""
from paper_repro.classification.config import RunConfig
from paper_repro.experiments import live
from paper_repro.runs.registry import train
cfg = RunConfig(**{TINY!r}, iterations=6, milestones=(4,), eval_interval=2, checkpoint_interval=2)
with live.session():
    r = train(cfg, out={str(tmp_path / "runs")!r}, data_root={str(data_root)!r})
print(r.summary["status"], len(r.metrics))
"""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    old = {k: os.environ.get(k) for k in [*env, "PYTHONPATH"]}
    os.environ.update(env, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    try:
        nbclient.NotebookClient(
            nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": root}}
        ).execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    path = tmp_path / "saved.ipynb"
    nbformat.write(nb, path)  # what a notebook file keeps
    return nbformat.read(path, as_version=4)


@pytest.mark.skipif(sys.platform == "win32", reason="a kernel over IPC")
def test_a_batch_kernel_saves_no_live_output_and_a_forced_live_one_only_its_final_state(tmp_path, data_root):
    batch = _execute(tmp_path / "batch", data_root, {live.ENV: ""})  # papermill / nbval / Jupyter Book
    outputs = batch.cells[0].outputs
    assert [o.output_type for o in outputs] == ["stream"] and outputs[0].text.strip() == "finished 3"

    forced = _execute(tmp_path / "forced", data_root, {live.ENV: "1"})  # live, though nobody watches
    outputs = forced.cells[0].outputs
    text = json.dumps(nbformat.writes(forced))
    assert "application/vnd.jupyter.widget" not in text and "<progress" not in text and "live:" not in text
    displays = [o for o in outputs if o.output_type == "display_data"]
    assert len(displays) == 2
    bar, curve = displays
    assert bar.data == live.EMPTY  # the bar, gone
    assert curve.data["text/plain"] == "<training curves of the 1 run trained in this cell, final>"
    assert base64.b64decode(curve.data["image/png"]).startswith(b"\x89PNG")
    assert outputs[-1].output_type == "stream" and outputs[-1].text.strip() == "finished 3"
