"""Progress: on a terminal a bar per run (net, iteration / total, elapsed, rate); in a notebook kernel
run by reproduce, the bar goes to the relay file, never into the notebook's outputs."""

import io
import os

from paper_repro.runs.progress import ENV, bar, relay


def test_no_bar_when_nothing_can_show_it(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    b = bar(10, desc="resnet20", progress=None)  # pytest's stderr is not a terminal
    assert b.disable
    b.close()


def test_the_relay_copies_a_kernels_bar_to_the_terminal_stream(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    shown = io.StringIO()
    with relay(str(tmp_path / "progress.txt"), stream=shown, interval=0.01):
        assert os.environ[ENV] == str(tmp_path / "progress.txt")
        b = bar(30, desc="resnet56 seed 1")  # what fit() does inside the kernel
        for _ in range(30):
            b.update(1)
        b.refresh()
        b.close()
    assert ENV not in os.environ
    text = shown.getvalue()
    assert "resnet56 seed 1" in text and "30/30" in text and "it/s" in text
    assert "\r" in text  # redrawn in place on the terminal, not one line per update
