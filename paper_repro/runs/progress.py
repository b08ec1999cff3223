"""Progress of long work: a tqdm bar on a terminal, nothing in CI or in a notebook's saved outputs.

A chapter executed by papermill runs in a kernel whose output is the notebook, so a bar there would
end up in the book. ``reproduce`` therefore hands the kernel a file to write its bars to
(``PAPER_REPRO_PROGRESS``, set only when ``reproduce`` itself is on a terminal) and relays that file
to its own terminal: the person running ``make book`` sees each net's iterations, elapsed time and
rate, while the notebook stays clean.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time

from tqdm import tqdm

ENV = "PAPER_REPRO_PROGRESS"


def _sink(progress: bool | None):
    """Where a bar goes: the relay file when one is set, else stderr when on a terminal (or when
    ``progress`` is True), else nowhere (None)."""
    path = os.environ.get(ENV)
    if progress is not False and path:
        try:
            return open(path, "a", buffering=1)
        except OSError:
            return None
    if progress or (progress is None and sys.stderr.isatty()):
        return sys.stderr
    return None


def bar(total: int, initial: int = 0, desc: str = "", progress: bool | None = None, enabled: bool = True) -> tqdm:
    """A tqdm bar over iterations; disabled (all calls are no-ops) when there is nowhere to show it."""
    sink = _sink(progress) if enabled else None
    relayed = sink is not None and sink is not sys.stderr
    return tqdm(
        total=total,
        initial=initial,
        desc=desc,
        unit="it",
        disable=sink is None,
        file=sink,
        dynamic_ncols=not relayed,
        ncols=100 if relayed else None,
        mininterval=0.5,
        leave=False,
    )


@contextlib.contextmanager
def relay(path: str, stream=None, interval: float = 0.2):
    """While the block runs, set ``PAPER_REPRO_PROGRESS=path`` and copy what is written to ``path``
    onto ``stream`` (default stderr). Used by ``reproduce`` around each papermill execution."""
    stream = stream or sys.stderr
    open(path, "w").close()
    stop = threading.Event()

    def pump():
        with open(path, newline="") as f:  # keep tqdm's carriage returns
            while True:
                chunk = f.read()
                if chunk:
                    stream.write(chunk)
                    stream.flush()
                elif stop.is_set():
                    return
                else:
                    time.sleep(interval)

    old = os.environ.get(ENV)
    os.environ[ENV] = path
    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
        if old is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = old
