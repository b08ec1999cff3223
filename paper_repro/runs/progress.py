"""Progress of long work: a tqdm bar on a terminal, nothing in CI or in a notebook's saved outputs.

A chapter executed by papermill runs in a kernel whose output is the notebook, so a bar there would
end up in the book. ``reproduce`` therefore hands the kernel a file to write its bars to
(``PAPER_REPRO_PROGRESS``, set only when ``reproduce`` itself is on a terminal) and relays that file
to its own terminal: the person running ``make book`` sees each net's iterations, elapsed time and
rate, while the notebook stays clean.

Whoever wants more than a bar (a live curve in JupyterLab: ``paper_repro.experiments.live``)
installs a :class:`Watcher` for a block (``watching``): every run trained in that block, in this
process and on rank 0, tells it where it starts, each iteration done, each metrics row it records
and how it ended. Watchers only look: they never change what a run computes or writes, and one that
fails is dropped with a warning while the run goes on (:class:`Watched`).
"""

from __future__ import annotations

import contextlib
import contextvars
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


# --------------------------------------------------------------------------- watchers
class Watcher:
    """What a run tells whoever watches it (every method a no-op here): ``begin`` once the run
    stands at iteration ``initial`` of ``total`` with the metrics ``rows`` it already has (a resumed
    run's), ``step`` after each iteration (``done`` iterations in), ``row`` for each metrics row as
    it is recorded, ``end`` once the run stops (``error`` None when it finished, else what stopped
    it). ``step`` is called inside the timed training loop: keep it cheap."""

    def begin(self, desc: str, total: int, initial: int, rows: list[dict]) -> None:
        pass

    def step(self, done: int) -> None:
        pass

    def row(self, row: dict) -> None:
        pass

    def end(self, done: int, error: BaseException | None) -> None:
        pass


_WATCHERS: contextvars.ContextVar[tuple[Watcher, ...]] = contextvars.ContextVar("paper_repro_watchers", default=())


def watchers() -> tuple[Watcher, ...]:
    """The watchers installed around the code running now (innermost last)."""
    return _WATCHERS.get()


@contextlib.contextmanager
def watching(*added: Watcher):
    """Every run started inside the block is watched by ``added`` too."""
    token = _WATCHERS.set(_WATCHERS.get() + added)
    try:
        yield
    finally:
        _WATCHERS.reset(token)


class Watched:
    """One run's watchers, each told in turn; a watcher that raises is dropped with one line on
    ``log``: a display that breaks never stops a run."""

    def __init__(self, watchers: tuple[Watcher, ...], log=None):
        self.live, self.log = list(watchers), log or (lambda msg: print(msg, file=sys.stderr))

    def __bool__(self) -> bool:
        return bool(self.live)

    def __call__(self, method: str, *args) -> None:
        for w in list(self.live):
            try:
                getattr(w, method)(*args)
            except Exception as e:  # a display must not stop a run
                self.live.remove(w)
                self.log(f"paper_repro: progress display {type(w).__name__} failed ({e!r}); the run goes on without it")
