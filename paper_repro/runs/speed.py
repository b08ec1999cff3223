"""How fast a run goes, never what it computes: the device, bf16 autocast and channels_last,
decided once per run (``resolve_speed``), and a stopwatch of the device's work."""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass

import torch

from paper_repro.runs.provenance import cpu_flags

# the CPU instructions for native bf16 arithmetic: where a processor has none, bf16 is emulated (slower)
BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def native_bf16() -> bool:
    """Whether this CPU has native bf16 instructions, the condition for `precision auto` = bf16."""
    return bool(BF16_FLAGS & cpu_flags())


@dataclass(frozen=True)
class Speed:
    device: torch.device
    precision: str
    channels_last: bool


def resolve_speed(cfg) -> Speed:
    """Turn 'auto' into what measured fastest on each device type (README, "Speed").

    GPU: bf16 autocast + channels_last. CPU: channels_last, and bf16 autocast where the processor
    has native bf16 instructions (avx512_bf16 / amx_bf16: 1.9x on this project's 2-core machine);
    fp32 elsewhere, where bf16 is emulated and slower.
    """
    if cfg.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(cfg.device)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("device cuda was asked for but no CUDA GPU is available; use --device cpu")
    if cfg.precision != "auto":
        precision = cfg.precision
    elif device.type == "cuda":
        precision = "bf16"
    else:
        precision = "bf16" if native_bf16() else "fp32"
    channels_last = cfg.channels_last == "on" or cfg.channels_last == "auto"
    return Speed(device, precision, channels_last)


def autocast(speed: Speed):
    if speed.precision == "bf16":
        return torch.autocast(speed.device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


class Stopwatch:
    """Wall time of the training between evaluations (evaluation and checkpoints excluded)."""

    def __init__(self, device: torch.device):
        self.device, self.t0 = device, time.perf_counter()

    def lap(self) -> float:
        """Seconds since the last restart, after the device has finished its queued work."""
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - self.t0

    def restart(self) -> None:
        self.t0 = time.perf_counter()


def lower_priority(niceness: int = 19) -> None:
    """Run this process at the lowest CPU priority (``nice 19``): a long run then takes only the cores
    that the machine's other work leaves idle, and never changes what it computes.

    Measured on 2 cores (ResNet-20, bf16, 2 torch threads each, images/s): alone 850-990; two such
    processes at equal priority collapse to about 220 each (their OpenMP threads spin and wait on each
    other's cores); with one of them at nice 19 the other keeps 878, and the niced one runs at full
    speed once it is alone. OpenMP's wait policy does not help: OMP_WAIT_POLICY=PASSIVE gives 746
    alone and 60 + 60 shared; GOMP_SPINCOUNT=10000 gives 56 + 56. Both processes of that measurement
    were in one session: started from different sessions (a terminal and a background job), the
    kernel's autogroups share the cores between the sessions whatever the nice values, so start long
    runs with ``setsid`` (then this also lowers the session's group)."""
    # Linux with autogroups (sched_autogroup_enabled): nice only orders the threads of one session;
    # between sessions each session's group counts as one. A session of its own (`setsid`) gets the
    # niceness for its group too, so the run yields to the other sessions' work as well.
    if os.getsid(0) == os.getpid() and os.path.exists("/proc/self/autogroup"):
        with contextlib.suppress(OSError), open("/proc/self/autogroup", "w") as f:
            f.write(str(niceness))
    for task in os.listdir("/proc/self/task") if os.path.isdir("/proc/self/task") else ["0"]:
        with contextlib.suppress(OSError):  # Linux: each thread has its own nice value; new threads inherit it
            os.setpriority(os.PRIO_PROCESS, int(task), max(niceness, os.getpriority(os.PRIO_PROCESS, int(task))))
