"""The run store: runs/<experiment>/<config-hash>/ with config.json, metrics.jsonl,
checkpoints and summary.json.

Every file is written atomically (a temporary file in the same folder, fsync, then rename), so a
run killed at any instant leaves either the old file or the new one, never half of one. Each
checkpoint has a sha256 beside it; a checkpoint whose bytes do not match is reported in one line
and never loaded.

A run store may lie on a shared disk (a Ray cluster's ``--out``), so everything read from it is
data, never code: checkpoints load with ``torch.load(weights_only=True)`` (tensors, numbers,
strings, lists, dicts; nothing that can run on unpickling), and a file that does not load that way,
a JSON file that does not parse, or a config.json whose hash does not match its folder is reported
in one line and never used. A write that fails (a full disk, a store that became read-only) raises
``StoreWriteError`` naming the file, and leaves the previous version of that file as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import warnings
from pathlib import Path

import numpy as np
import torch
from filelock import FileLock, Timeout

from paper_repro.runs.files import (  # noqa: F401 - the store's file functions, imported from here by callers
    StoreWriteError,
    append_jsonl,
    atomic_write_bytes,
    atomic_write_json,
    log_to_stderr,
    read_json,
    read_json_object,
    read_jsonl,
    write_failed,
)

KEEP_CHECKPOINTS = 2


class StoreCorrupt(ValueError):
    """A file of the run store is not what the project writes there (edited by hand, or damaged)."""


@contextlib.contextmanager
def run_lock(directory: Path, log=None):
    """The lock that makes one process the only writer of a run (``filelock``: an OS-level lock on
    ``<run>.lock`` beside the run folder, released by the kernel when its holder dies, even by
    SIGKILL). A second process that starts the same run waits here, then reads the finished result
    back or resumes from the last checkpoint the first one left."""

    directory = Path(directory)
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise write_failed(directory.parent, e) from e
    lock = FileLock(str(directory) + ".lock")
    try:
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if log:
                log(
                    f"paper_repro: run {directory.parent.name}/{directory.name} is being trained by another process; "
                    "waiting for it"
                )
            lock.acquire()
    except OSError as e:
        raise write_failed(Path(lock.lock_file), e) from e
    try:
        yield lock
    finally:
        lock.release()


def read_metrics(directory: Path, log=None) -> list[dict]:
    """The metrics.jsonl records (``read_jsonl``: a damaged line is skipped, never the rest)."""
    path = Path(directory) / "metrics.jsonl"
    if not path.exists():
        return []
    return [r for r in read_jsonl(path, log) if isinstance(r.get("iteration"), int)]


def append_metrics(directory: Path, record: dict) -> None:
    append_jsonl(Path(directory) / "metrics.jsonl", record)


def truncate_metrics(directory: Path, last_iteration: int) -> None:
    """Keep the records up to a checkpoint's iteration (later ones are recomputed on resume)."""
    keep = [r for r in read_metrics(directory) if r["iteration"] <= last_iteration]
    atomic_write_bytes(
        Path(directory) / "metrics.jsonl", "".join(json.dumps(r, sort_keys=True) + "\n" for r in keep).encode()
    )


def _checkpoint_path(directory: Path, iteration: int) -> Path:
    return Path(directory) / f"checkpoint-{iteration:08d}.pt"


def list_checkpoints(directory: Path) -> list[Path]:
    """Checkpoint files, newest first."""
    return sorted(Path(directory).glob("checkpoint-*.pt"), reverse=True)


def save_checkpoint(directory: Path, iteration: int, state: dict) -> Path:
    buf = io.BytesIO()
    torch.save(state, buf)
    data = buf.getvalue()
    path = _checkpoint_path(directory, iteration)
    atomic_write_bytes(path, data)
    atomic_write_bytes(path.with_suffix(".pt.sha256"), hashlib.sha256(data).hexdigest().encode())
    for old in list_checkpoints(directory)[KEEP_CHECKPOINTS:]:
        old.unlink(missing_ok=True)
        old.with_suffix(".pt.sha256").unlink(missing_ok=True)
    return path


def _legacy_numpy_globals() -> list:
    """What checkpoints written before the RNG state was stored as plain data hold besides
    tensors: numpy's MT19937 key array (a uint32 ndarray). Only these are let through."""

    return [np.zeros(1).__reduce__()[0], np.ndarray, np.dtype, type(np.dtype(np.uint32))]


def safe_torch_load(source, what: str = "file") -> object:
    """``torch.load`` that never runs code: ``weights_only=True``, plus the uint32 arrays of old
    checkpoints' numpy RNG state. Raises ValueError with one line saying why a file was refused."""
    with torch.serialization.safe_globals(_legacy_numpy_globals()), warnings.catch_warnings():
        # a file pickled by other means makes torch warn about its protocol before refusing it: the
        # one line below says what is wrong with the file
        warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
        try:
            return torch.load(source, map_location="cpu", weights_only=True)
        except Exception as e:
            text = str(e)
            unsafe = re.search(r"GLOBAL (\S+)", text)
            if unsafe:
                raise ValueError(
                    f"it is refused by the safe loader: it would import {unsafe.group(1)}, which a "
                    f"{what} never holds (nothing was executed)"
                ) from None
            first = text.strip().splitlines()[0] if text.strip() else ""
            raise ValueError(
                f"it does not load ({e.__class__.__name__}{': ' + first[:200] if first else ''})"
            ) from None


CHECKPOINT_KEYS = ("iteration", "rng", "elapsed")


def load_latest_checkpoint(directory: Path, log=None, accept=None) -> dict | None:
    """The newest checkpoint whose bytes match its sha256 and that loads safely (``safe_torch_load``);
    None if there is none. ``accept(state)``, when given, applies the state and raises (ValueError,
    KeyError, TypeError, RuntimeError) if it does not fit.

    A bad one is reported in one line and skipped (the previous good one is used instead).
    """
    log = log or log_to_stderr
    for path in list_checkpoints(directory):
        digest_file = path.with_suffix(".pt.sha256")
        reason = None
        try:
            data = path.read_bytes()
            digest = digest_file.read_text().strip() if digest_file.exists() else None
        except OSError as e:
            data, digest, reason = b"", None, f"it cannot be read ({e.strerror or e})"
        if reason:
            pass
        elif digest is None:
            reason = "its sha256 file is missing"
        elif hashlib.sha256(data).hexdigest() != digest:
            reason = "its bytes do not match its sha256 (truncated or corrupted)"
        else:
            try:
                state = safe_torch_load(io.BytesIO(data), "checkpoint")
                if not isinstance(state, dict) or any(k not in state for k in CHECKPOINT_KEYS):
                    raise ValueError(
                        f"it is not a checkpoint of this project (a {type(state).__name__} without "
                        f"{', '.join(CHECKPOINT_KEYS)})"
                    )
                if accept is not None:
                    try:
                        accept(state)
                    except (KeyError, TypeError, RuntimeError, ValueError, IndexError) as e:
                        raise ValueError(
                            f"it does not fit this run ({e.__class__.__name__}: "
                            f"{str(e).strip().splitlines()[0][:200] if str(e).strip() else ''})"
                        ) from None
                return state
            except ValueError as e:
                reason = str(e)
        log(f"paper_repro: ignoring checkpoint {path}: {reason}; falling back to an older one or a fresh start")
    return None


def finished_summary(directory: Path, log=None) -> dict | None:
    """The run's summary.json, or None when it has none; a summary that is not a JSON object (a
    damaged or hand-edited file) is reported in one line and treated as absent."""
    path = Path(directory) / "summary.json"
    if not path.exists():
        return None
    summary, why = read_json_object(path)
    if why:
        (log or log_to_stderr)(f"paper_repro: ignoring {path}: {why}")
    return summary


def config_problem(directory: Path, config_cls) -> str | None:
    """Why ``directory``/config.json is not the config of the run stored there (None when it is):
    not a JSON object, not a ``config_cls``, or a config whose hash is not the folder's name (a
    config.json edited by hand)."""
    d, why = read_json_object(Path(directory) / "config.json")
    if why:
        return why
    try:
        h = config_cls.from_dict(d).hash()
    except (TypeError, ValueError, OSError) as e:
        return f"it is not a {config_cls.__name__} ({e})"
    if h != Path(directory).name:
        return (
            f"its hash {h} does not match its folder {Path(directory).name} (edited by hand?); restore it, or "
            "delete it and the run writes it again"
        )
    return None


def find_runs(out: str | os.PathLike = "runs", experiment: str | None = None) -> list[Path]:
    """Run directories (with a config.json) under the store, optionally of one experiment."""
    root = Path(out) / experiment if experiment else Path(out)
    return sorted(p.parent for p in root.glob("**/config.json"))
