"""RunSpec: what every kind of run offers the run machinery.

A run is described by one frozen dataclass (``classification.config.RunConfig``,
``detection.config.DetectConfig``) that subclasses :class:`RunSpec`. The machinery asks only
this interface: its name, its identity (``hash``) and folder in the run store, the data it needs
(``ensure_data``) and what it costs and asks for (``work``, ``shares_gpu``). How to train it is
the function its task registers for the config's type (``runs.registry.train(cfg)``). So ``plan``
and ``sweep`` never ask which task a run belongs to, and a third task would need no edit there.

The checks every config shares (increasing milestones, the speed switches, the device) and the
paper's milestones scaled to any schedule length live here too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import ClassVar

SPEED_CHOICES = {"precision": ("auto", "fp32", "bf16"), "channels_last": ("auto", "on", "off")}


class RunSpec:
    """Base of every run config (a frozen dataclass). Subclasses say which tuple fields are kept as
    JSON lists (``TUPLE_FIELDS``), which fields do not change a result (``NOT_IDENTITY``), and
    implement ``name``, ``ensure_data``, ``work`` and ``shares_gpu``; their task registers the
    function that trains them (``runs.registry.register``)."""

    TUPLE_FIELDS: ClassVar[tuple[str, ...]] = ()
    # where a run lives, when it saves and how many loader workers it has do not change its numbers
    NOT_IDENTITY: ClassVar[tuple[str, ...]] = ("experiment", "checkpoint_interval", "workers")

    # ---- what the run store keeps: config.json and the folder's name
    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        for k in self.TUPLE_FIELDS:
            d[k] = list(d[k])
        return d

    @classmethod
    def from_dict(cls, d: dict):
        d = dict(d)
        for k in cls.TUPLE_FIELDS:
            if k in d:
                d[k] = tuple(d[k])
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def replace(self, **kw):
        return dataclasses.replace(self, **kw)

    def identity(self) -> dict:
        """The fields that decide the run's result."""
        d = self.to_dict()
        for k in self.NOT_IDENTITY:
            d.pop(k)
        return d

    def hash(self) -> str:
        """Identity of a run: 12 hex digits of the sha256 of :meth:`identity`."""
        return hashlib.sha256(json.dumps(self.identity(), sort_keys=True).encode()).hexdigest()[:12]

    def folder(self, out: str | os.PathLike = "runs") -> Path:
        """The run's folder in the run store ``out``: ``<experiment>/<hash>``."""
        return Path(out) / self.experiment / self.hash()

    # ---- what each task supplies
    @property
    def name(self) -> str:
        raise NotImplementedError

    def ensure_data(self, data_root: str) -> None:
        """Download or unpack the run's data set once, before workers read it concurrently."""
        raise NotImplementedError

    def work(self) -> float:
        """Relative cost (iterations x depth): the sweep starts the longest runs first."""
        raise NotImplementedError

    def shares_gpu(self) -> bool:
        """Small enough that several such runs share one GPU (a CIFAR net at batch 128)."""
        return False


def check_common(cfg, choices: dict, optional_counts=(), log_every: str = "eval_interval") -> None:
    """The checks every run config shares (classification and detection): increasing milestones,
    optional positive counts, named choices (plus the speed switches), the device, and checkpoints
    on a logging boundary. Raises ValueError with one line naming what is allowed."""
    if list(cfg.milestones) != sorted(cfg.milestones) or any(m <= 0 for m in cfg.milestones):
        raise ValueError(f"milestones must be increasing positive iterations, got {list(cfg.milestones)}")
    for name in optional_counts:
        v = getattr(cfg, name)
        if v is not None and (not isinstance(v, int) or v <= 0):
            raise ValueError(f"{name} must be a positive integer or None, got {v!r}")
    for name, allowed in {**choices, **SPEED_CHOICES}.items():
        if getattr(cfg, name) not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {getattr(cfg, name)!r}")
    if not (cfg.device in ("auto", "cpu", "cuda") or cfg.device.startswith("cuda:")):
        raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {cfg.device!r}")
    every = getattr(cfg, log_every)
    if cfg.checkpoint_interval % every:
        raise ValueError(f"checkpoint_interval ({cfg.checkpoint_interval}) must be a multiple of {log_every} ({every})")


def scaled_milestones(iterations: int) -> tuple[int, int]:
    """The paper's milestones (32k and 48k of 64k: 50% and 75%) for any schedule length;
    64000 gives exactly (32000, 48000)."""
    return (max(1, iterations // 2), max(1, iterations * 3 // 4))
