"""Trained nets as files that load without running code: safetensors, weights only.

A file holds a finished run's network (parameters and BN statistics, fp32) and, as text metadata,
what it is and where it came from: the net's name, its input channels and classes, the run's config
hash, seed, iterations, data set, commit and final errors. ``load_trained(path)`` builds the net by
its name and loads the tensors; nothing in the file is ever executed (safetensors stores tensors and
strings only), so a file from a shared store or a download is data, as the run store's checkpoints
are.

The nets that ship with the book lie in ``figures/scale-map/weights/`` (:data:`WEIGHTS`), beside the
scale map's records. ``shipped()`` lists them (their metadata), ``load_trained("resnet56")`` loads one
by its net's name. A file belongs to the record whose config hash its metadata holds; the records
file is append-only, so a record measured before its net was exported names no file, and
:func:`weights_for` finds the file by its name and checks the hash (a record written by
``scale-map`` at the paper's length also names it, under "weights").
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from paper_repro.models import build_model
from paper_repro.runs.records import RECORDS

WEIGHTS = RECORDS.parent / "weights"  # committed beside the records: the trained nets a reader loads
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


def load_trained(path: Path | str, device: str | torch.device = "cpu", **which) -> tuple[torch.nn.Module, dict]:
    """The trained net in ``path`` (in eval mode, on ``device``) and its metadata: one call. ``path``
    may also be a net's name: the shipped net of that name (:func:`find_shipped`; ``which``: ``seed``,
    ``iterations``, ``precision``).

    >>> model, meta = load_trained("figures/scale-map/weights/resnet56-s0-2400-fp32.safetensors")  # doctest: +SKIP
    >>> model, meta = load_trained("resnet56")  # the shipped one, seed 0  # doctest: +SKIP
    """
    if Path(path).suffix != ".safetensors" and not Path(path).is_file():
        path = find_shipped(str(path), **which)
    elif which:
        raise TypeError(f"{', '.join(which)}: only a net's name is looked up among the shipped nets")
    meta = metadata(path)
    if "net" not in meta:
        raise ValueError(f"{path}: not a paper_repro weights file (no 'net' in its metadata)")
    model = build_model(meta["net"], num_classes=meta.get("num_classes", 10), in_channels=meta.get("in_channels", 3))
    model.load_state_dict(load_file(str(path)))
    return model.to(device).eval(), meta


def shipped(folder: Path = WEIGHTS) -> list[dict]:
    """The metadata of every net in ``folder`` (default: the ones that ship with the book), each with
    its ``file``; in the order of the file names."""
    return [{**metadata(p), "file": p} for p in sorted(Path(folder).glob("*.safetensors"))]


def shipped_together(metas: list[dict], seed: int = 0) -> list[dict]:
    """Of the shipped nets ``metas`` (:func:`shipped`), those of ``seed`` at the one schedule
    (iterations and precision) that the most nets ship at, the longest where several tie: the nets a
    figure may set side by side (a net trained 25 times longer is no peer)."""
    groups: dict[tuple, list[dict]] = {}
    for m in metas:
        if m.get("seed") == seed:
            groups.setdefault((m.get("iterations"), m.get("precision")), []).append(m)
    if not groups:
        return []
    best = max(groups, key=lambda k: (len(groups[k]), k[0], k[1] == "fp32"))
    return groups[best]


def find_shipped(
    net: str, seed: int = 0, iterations: int | None = None, precision: str | None = None, folder: Path = WEIGHTS
) -> Path:
    """The file of the shipped ``net`` of ``seed``: the longest schedule unless ``iterations`` is
    given, and of ``precision`` when given (fp32 first where both ship). A ValueError naming what
    ships when none fits."""
    have = shipped(folder)
    fits = [
        m
        for m in have
        if m.get("net") == net
        and m.get("seed") == seed
        and iterations in (None, m.get("iterations"))
        and precision in (None, m.get("precision"))
    ]
    if not fits:
        want = (
            f"{net} seed {seed}"
            + (f", {iterations} iterations" if iterations else "")
            + (f", {precision}" if precision else "")
        )
        ships = ", ".join(f"{m['net']} s{m['seed']} {m['iterations']} {m.get('precision')}" for m in have)
        raise ValueError(f"no shipped net is {want}; {folder} holds: {ships or 'none'}")
    best = max(fits, key=lambda m: (m["iterations"], m.get("precision") == "fp32"))
    return best["file"]


def weights_for(record: dict, folder: Path = WEIGHTS) -> Path | None:
    """The weights file of a scale-map record, or None where none was exported: the file its
    "weights" key names (relative to the records folder), else the file named after its net, seed,
    length and precision, if that file's metadata holds the record's config hash."""
    if record.get("weights"):
        return Path(folder).parent / record["weights"]
    path = Path(folder) / file_name(record["net"], record["seed"], record["iterations"], record.get("precision"))
    if path.is_file() and metadata(path).get("config_hash") == record["config_hash"]:
        return path
    return None
