"""Training shown live in JupyterLab: a progress bar per run and a training curve that redraws
while the run trains (training error dashed, test error bold, as in the paper's Fig. 6), from the
metrics rows the run records (``runs.progress.Watcher``).

It is live only where a person watches: in a Jupyter kernel whose frontend can answer ``input()``
(JupyterLab, Notebook, VS Code execute cells with ``allow_stdin``; papermill, nbconvert, nbclient,
Jupyter Book and nbval execute them without it), unless ``PAPER_REPRO_LIVE`` says otherwise (1:
live in any kernel, 0: never; ``reproduce`` sets 0 for its papermill runs) or ``reproduce`` relays
the kernel's bars to its terminal (``PAPER_REPRO_PROGRESS``). Elsewhere nothing is displayed.

What a saved notebook keeps: the bar is one display per :func:`session`, above the curve, that
every run of the session updates in place (so it does not move down the page below the lines the
finished runs printed) and that is replaced by nothing (an empty output) when a run stops; the curve
is one display per session, every frame a complete PNG, and its last frame, drawn when the session
ends, says "final". No widgets,
no JavaScript. The chapters' training calls (``experiments.runs``) open a session themselves.
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import os
import sys
import time

from paper_repro.runs.progress import ENV as RELAY_ENV
from paper_repro.runs.progress import Watcher, watchers, watching

ENV = "PAPER_REPRO_LIVE"
EMPTY = {"text/html": "", "text/plain": ""}  # what a run's bar becomes when the run stops


def _shell():
    """The running IPython shell, or None (IPython is not imported unless something runs in it)."""
    ipython = sys.modules.get("IPython")
    return ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None


def interactive() -> bool:
    """Whether training is shown live here (see the module's docstring)."""
    shell = _shell()
    kernel = getattr(shell, "kernel", None)
    if kernel is None:  # a terminal, a script, a test: the tqdm bar of runs.progress does the job
        return False
    forced = os.environ.get(ENV, "").strip().lower()
    if forced in ("1", "true", "yes", "on"):
        return True
    if forced in ("0", "false", "no", "off") or os.environ.get(RELAY_ENV):
        return False
    return bool(getattr(kernel, "_allow_stdin", False))  # the cell running now was sent by a person's frontend


@contextlib.contextmanager
def session(keep_curve: bool = True):
    """Show every run trained in the block live, when :func:`interactive`: a bar per run, one curve
    for all of them. At the end the curve's final frame stays (``keep_curve``) or goes. A session
    inside another one adds nothing. Yields the :class:`Live` display, or None where nothing shows."""
    if not interactive() or any(isinstance(w, Live) for w in watchers()):
        yield None
        return
    live = Live(keep_curve=keep_curve)
    with watching(live):
        try:
            yield live
        finally:
            live.close()


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def run_labels(runs: list[dict]) -> list[str]:
    """The curve's legend: each run's net and seed, and its length where the session's runs differ in
    length (the scale map trains the same net and seed at several)."""
    lengths = len({run["total"] for run in runs}) > 1
    return [f"{run['desc']}, {run['total']} it." if lengths else run["desc"] for run in runs]


def _series(rows: list[dict]) -> tuple[str, list[tuple[str, str, float]]]:
    """The y axis and the (key, style, line width) pairs a run's rows are drawn with: training error
    dashed and test error bold (%) for a classifier, the training loss for a detector."""
    if any("train_error" in r for r in rows):
        return "error (%)", [("train_error", "--", 1.2), ("eval_error", "-", 2.4)]
    return "training loss", [("loss", "--", 1.2)]


class Live(Watcher):
    """The displays of one session: a bar for the run training now (one display, reused by each run),
    one curve for every run the session trained. ``display`` is IPython's (``display(bundle,
    raw=True, display_id=True)`` returns a handle with ``update``); ``min_interval`` seconds between
    two redraws of a bar."""

    def __init__(self, keep_curve: bool = True, min_interval: float = 0.5, display=None):
        self.keep_curve, self.min_interval, self._display = keep_curve, min_interval, display
        self.runs: list[dict] = []  # per run: desc, total, rows, and while it trains its bar's state
        self.bar = self.curve = None  # the bar while a run trains; the curve
        self._bar_area = None  # the bar's display, created by the first run and reused by the next ones
        self.frames = 0  # curve frames drawn (each a whole PNG)
        self.closed = False

    def _show(self, bundle: dict):
        if self._display is None:
            from IPython.display import display  # noqa: PLC0415 - only in a kernel

            self._display = display
        return self._display(bundle, raw=True, display_id=True)

    # -- the watcher
    def begin(self, desc: str, total: int, initial: int, rows: list[dict]) -> None:
        self.runs.append({"desc": desc, "total": total, "initial": initial, "done": initial, "rows": list(rows)})
        self.t0 = self.last = time.monotonic()
        if self._bar_area is None:
            self._bar_area = self._show(self._bar())
        else:
            self._bar_area.update(self._bar(), raw=True)
        self.bar = self._bar_area
        if rows:
            self._draw()

    def step(self, done: int) -> None:
        self.runs[-1]["done"] = done
        now = time.monotonic()
        if now - self.last >= self.min_interval:
            self.last = now
            self.bar.update(self._bar(), raw=True)

    def row(self, row: dict) -> None:
        run = self.runs[-1]
        run["rows"].append(dict(row))
        run["done"] = max(run["done"], int(row.get("iteration", 0)))
        self._draw()
        self.bar.update(self._bar(), raw=True)

    def end(self, done: int, error: BaseException | None) -> None:
        run = self.runs[-1]
        run["done"], run["stopped"] = done, None if error is None else type(error).__name__
        if self.bar is not None:
            self.bar.update(EMPTY, raw=True)
            self.bar = None

    def close(self) -> None:
        """The session's end: any bar left goes, the curve gets its final frame (or goes)."""
        if self.closed:
            return
        self.closed = True
        if self.bar is not None:
            self.bar.update(EMPTY, raw=True)
            self.bar = None
        if self.curve is not None:
            if self.keep_curve:
                self._draw(final=True)
            else:
                self.curve.update(EMPTY, raw=True)

    # -- the bar
    def _bar(self) -> dict:
        run = self.runs[-1]
        done, total, elapsed = run["done"], run["total"], time.monotonic() - self.t0
        rate = (done - run["initial"]) / elapsed if elapsed > 0 else 0.0
        left = _clock((total - done) / rate) if rate > 0 else "?"
        text = f"{run['desc']}: {done}/{total} it [{_clock(elapsed)}<{left}, {rate:.2f} it/s]"
        last = run["rows"][-1] if run["rows"] else None
        if last is not None and "eval_error" in last:
            text += f" at {last['iteration']}: training error {100 * last['train_error']:.1f}%, "
            text += f"test error {100 * last['eval_error']:.1f}%"
        elif last is not None and "loss" in last:
            text += f" at {last['iteration']}: loss {last['loss']:.3f}"
        bar = (
            f'<progress value="{done}" max="{total}" style="width:14em;vertical-align:middle"></progress> '
            f"<code>{html.escape(text)}</code>"
        )
        return {"text/html": f"<div>{bar}</div>", "text/plain": text}

    # -- the curve
    def _draw(self, final: bool = False) -> None:
        png, what = self._figure(final)
        bundle = {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": f"<{what}>"}
        self.frames += 1
        if self.curve is None:
            self.curve = self._show(bundle)
        else:
            self.curve.update(bundle, raw=True)

    def _figure(self, final: bool) -> tuple[bytes, str]:
        """One complete frame: every run of the session so far, drawn off-screen (no pyplot: nothing
        of it is shown by the inline backend at the end of the cell)."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415 - only when live
        from matplotlib.figure import Figure  # noqa: PLC0415
        from matplotlib.lines import Line2D  # noqa: PLC0415

        fig = Figure(figsize=(7.5, 3.6), dpi=100, layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        handles, ylabel = [], ""
        for i, (run, label) in enumerate(zip(self.runs, run_labels(self.runs), strict=True)):
            rows, color = [r for r in run["rows"] if "iteration" in r], f"C{i % 10}"
            ylabel, series = _series(rows)
            for key, style, width in series:
                pts = [(r["iteration"], r[key]) for r in rows if r.get(key) is not None]
                scale = 100 if ylabel.startswith("error") else 1
                ax.plot([p[0] for p in pts], [scale * p[1] for p in pts], style, color=color, lw=width, marker=".")
            handles.append(Line2D([], [], color=color, lw=2.4, label=label))
        if ylabel.startswith("error"):
            handles += [
                Line2D([], [], color="0.4", ls="--", lw=1.2, label="training error"),
                Line2D([], [], color="0.4", ls="-", lw=2.4, label="test error"),
            ]
        ax.set_xlim(0, max(r["total"] for r in self.runs))
        ax.set_xlabel("iteration")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        run = self.runs[-1]
        if final:
            stopped = [r["desc"] for r in self.runs if r.get("stopped")]
            n = len(self.runs)
            what = f"training curves of the {n} run{'s' if n != 1 else ''} trained in this cell, final" + (
                f" ({', '.join(stopped)} stopped early)" if stopped else ""
            )
        else:
            what = f"training curves, live: {run['desc']} at iteration {run['done']} of {run['total']}"
        ax.set_title(what, fontsize=10)
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue(), what
