"""The nets that ship with the book, measured again: each file's test error on the data its run was
evaluated on, and Fig. 7's layer responses, in seconds and without the run store.

A shipped file (``paper_repro.runs.weights``) holds its run's whole config; from it the held-out
loaders are built exactly as the run built them (``classification.data.build_data``: the same
images, padding to 32x32, training-mean subtraction, batches of 500, channels_last where the run had
it), on the CPU unless told otherwise, in the run's precision.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from paper_repro.classification.config import RunConfig
from paper_repro.classification.data import Data, build_data
from paper_repro.classification.train import evaluate
from paper_repro.experiments.runs import DATA
from paper_repro.models.measure import layer_responses
from paper_repro.runs.records import NETS
from paper_repro.runs.speed import Speed, resolve_speed
from paper_repro.runs.weights import WEIGHTS, find_shipped, load_trained


def run_data(meta: dict, data_root: str | os.PathLike = DATA, device: str = "cpu") -> tuple[Data, Speed]:
    """The loaders and the speed settings of the run a weights file came from, on ``device`` (the
    file's metadata: ``weights.metadata``)."""
    if "config" not in meta:
        raise ValueError(f"{meta.get('net')}: the weights file holds no run config (exported before it did)")
    cfg = RunConfig.from_dict(meta["config"])
    if cfg.hash() != meta["config_hash"]:
        raise ValueError(f"{meta['net']}: the file's config hashes to {cfg.hash()}, not its {meta['config_hash']}")
    speed = resolve_speed(cfg.replace(device=device))
    return build_data(cfg, speed, str(data_root)), speed


def shipped_net(path: Path | str, data_root: str | os.PathLike = DATA, device: str = "cpu"):
    """The net in ``path`` (or the shipped net of that name) as its run held it, its metadata, and
    its run's loaders and speed settings: what ``experiments.runs.trained_net`` gives for a stored run."""
    model, meta = load_trained(path, device)
    data, speed = run_data(meta, data_root, device)
    if speed.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model, meta, data, speed


def final_error(path: Path | str, data_root: str | os.PathLike = DATA, device: str = "cpu") -> dict:
    """The net in ``path`` evaluated as its run's final evaluation was: top-1 error (and loss) on the
    whole held-out split (``final_eval_images``), with ``images``, the number evaluated on."""
    model, _, data, speed = shipped_net(path, data_root, device)
    loader, n = (data.final_eval, data.final_eval_size) if data.final_eval is not None else (data.eval, data.eval_size)
    return {**evaluate(model, loader, speed), "images": n}


def shipped_responses(
    nets=NETS,
    n_images: int = 1000,
    seed: int = 0,
    data_root: str | os.PathLike = DATA,
    folder: Path = WEIGHTS,
    device: str = "cpu",
    iterations: int | None = None,
    precision: str | None = None,
) -> dict[str, list[float]]:
    """Fig. 7 for each shipped net of ``nets`` (seed ``seed``, its longest schedule unless
    ``iterations`` and ``precision`` say which): the std of every 3x3 layer's response (after BN,
    before ReLU or the addition), in forward order, on the first ``n_images`` images of its run's
    held-out loader (the ones ``scale_map.fig7_statistics`` and ``runs.responses`` measure on; the
    cpu profile's ``response_images`` is 1000)."""
    out = {}
    for net in nets:
        path = find_shipped(net, seed, iterations, precision, folder=folder)
        model, _, data, speed = shipped_net(path, data_root, device)
        out[net] = list(layer_responses(model, data.eval, speed.device, max_images=n_images).values())
    return out
