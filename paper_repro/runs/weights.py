"""Trained nets as files that load without running code: safetensors, weights only.

A file holds a finished run's network (parameters and BN statistics, fp32) and, as text metadata,
what it is and where it came from: the net's name, its input channels and classes, the run's config
hash, seed, iterations, data set, commit and final errors. ``load_trained(path)`` builds the net by
its name and loads the tensors; nothing in the file is ever executed (safetensors stores tensors and
strings only), so a file from a shared store or a download is data, as the run store's checkpoints
are.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from paper_repro.models import build_model

META_KEYS = ("net", "in_channels", "num_classes", "config_hash", "seed", "iterations", "dataset", "commit")


def file_name(net: str, seed: int, iterations: int, precision: str | None = None) -> str:
    """``resnet56-s0-64000.safetensors`` (``-fp32`` before the suffix for a precision control)."""
    tail = f"-{precision}" if precision and precision != "bf16" else ""
    return f"{net}-s{seed}-{iterations}{tail}.safetensors"


def save_trained(model: torch.nn.Module, path: Path, meta: dict) -> Path:
    """Write ``model``'s state (contiguous fp32/int tensors on the CPU) and ``meta`` (JSON-encoded
    strings) to ``path``; return it."""
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    missing = [k for k in ("net", "config_hash") if k not in meta]
    if missing:
        raise ValueError(f"weights metadata needs {', '.join(missing)}")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path), metadata={k: json.dumps(v) for k, v in meta.items()})
    return Path(path)


def metadata(path: Path) -> dict:
    """The file's metadata, decoded (no tensor is read)."""
    with safe_open(str(path), framework="pt") as f:
        return {k: json.loads(v) for k, v in (f.metadata() or {}).items()}


def load_trained(path: Path, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, dict]:
    """The trained net in ``path`` (in eval mode, on ``device``) and its metadata: one call.

    >>> model, meta = load_trained("figures/scale-map/weights/resnet56-s0-4800.safetensors")  # doctest: +SKIP
    """
    meta = metadata(path)
    if "net" not in meta:
        raise ValueError(f"{path}: not a paper_repro weights file (no 'net' in its metadata)")
    model = build_model(meta["net"], num_classes=meta.get("num_classes", 10), in_channels=meta.get("in_channels", 3))
    model.load_state_dict(load_file(str(path)))
    return model.to(device).eval(), meta
