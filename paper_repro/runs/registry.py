"""train(cfg): the one way to start a run of any kind.

Each task registers the function that trains its config type (``@register(RunConfig)`` on
``classification.train.fit``, ``@register(DetectConfig)`` on ``detection.train.fit_detector``);
whoever starts a run without asking which task it belongs to (the sweep, the command line, the
book) calls :func:`train`, which looks the function up by the config's type.

Why no config can be without its training function: a task package's ``__init__`` imports its
``train`` module, and Python loads a package before any module in it. So the import that defines
a config type (``paper_repro.classification.config``; in a Ray worker, unpickling the config)
has registered its training function too, and neither the config nor this module imports the
training code: no import circle, at module level or at call time.
"""

from __future__ import annotations

import os
from collections.abc import Callable

TRAINERS: dict[type, Callable] = {}


def register(config_type: type) -> Callable[[Callable], Callable]:
    """Decorator: ``fn`` trains runs of ``config_type`` (and of its subclasses that have none of
    their own). ``fn(cfg, out=, data_root=, progress=, log=)`` returns a ``runs.run.Result``."""

    def add(fn: Callable) -> Callable:
        TRAINERS[config_type] = fn
        return fn

    return add


def trainer(cfg) -> Callable:
    """The function registered for ``cfg``'s type (the nearest base class that has one)."""
    for klass in type(cfg).__mro__:
        if klass in TRAINERS:
            return TRAINERS[klass]
    raise LookupError(f"no training function is registered for {type(cfg).__name__}")


def train(cfg, out: str | os.PathLike = "runs", data_root: str | os.PathLike = "data", progress=None, log=None):
    """Train ``cfg`` to the end, or read it back, or resume it: its task's training function
    (a ``runs.run.Result``; raises ``runs.run.Diverged`` for a run whose loss became NaN/inf)."""
    return trainer(cfg)(cfg, out=out, data_root=data_root, progress=progress, log=log)
