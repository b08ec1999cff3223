"""The run store: runs/<experiment>/<config-hash>/ with config.json, metrics.jsonl,
checkpoints and summary.json.

Every file is written atomically (a temporary file in the same folder, fsync, then rename), so a
run killed at any instant leaves either the old file or the new one, never half of one. Each
checkpoint has a sha256 beside it; a checkpoint whose bytes do not match is reported in one line
and never loaded.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import sys
import tempfile
from pathlib import Path

import torch

KEEP_CHECKPOINTS = 2


@contextlib.contextmanager
def run_lock(directory: Path, log=None):
    """The lock that makes one process the only writer of a run (``filelock``: an OS-level lock on
    ``<run>.lock`` beside the run folder, released by the kernel when its holder dies, even by
    SIGKILL). A second process that starts the same run waits here, then reads the finished result
    back or resumes from the last checkpoint the first one left."""
    from filelock import FileLock, Timeout

    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(directory) + ".lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if log:
            log(f"paper_repro: run {directory.parent.name}/{directory.name} is being trained by another process; "
                "waiting for it")
        lock.acquire()
    try:
        yield lock
    finally:
        lock.release()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def read_json(path: Path):
    with open(path) as f:
        return json.load(f)


def read_metrics(directory: Path) -> list[dict]:
    """The metrics.jsonl records; a torn last line (a kill mid-append) is ignored."""
    path = Path(directory) / "metrics.jsonl"
    if not path.exists():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return records


def append_metrics(directory: Path, record: dict) -> None:
    with open(Path(directory) / "metrics.jsonl", "a") as f:
        f.write(json.dumps(record, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())


def truncate_metrics(directory: Path, last_iteration: int) -> None:
    """Keep the records up to a checkpoint's iteration (later ones are recomputed on resume)."""
    keep = [r for r in read_metrics(directory) if r["iteration"] <= last_iteration]
    atomic_write_bytes(Path(directory) / "metrics.jsonl", "".join(json.dumps(r, sort_keys=True) + "\n" for r in keep).encode())


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


def load_latest_checkpoint(directory: Path, log=None) -> dict | None:
    """The newest checkpoint whose bytes match its sha256 and that loads; None if there is none.

    A bad one is reported in one line and skipped (the previous good one is used instead).
    """
    log = log or (lambda msg: print(msg, file=sys.stderr))
    for path in list_checkpoints(directory):
        digest_file = path.with_suffix(".pt.sha256")
        data = path.read_bytes()
        reason = None
        if not digest_file.exists():
            reason = "its sha256 file is missing"
        elif hashlib.sha256(data).hexdigest() != digest_file.read_text().strip():
            reason = "its bytes do not match its sha256 (truncated or corrupted)"
        else:
            try:
                return torch.load(io.BytesIO(data), map_location="cpu", weights_only=False)
            except Exception as e:  # noqa: BLE001
                reason = f"it does not load ({e.__class__.__name__})"
        log(f"paper_repro: ignoring checkpoint {path}: {reason}; falling back to an older one or a fresh start")
    return None


def finished_summary(directory: Path) -> dict | None:
    path = Path(directory) / "summary.json"
    if path.exists():
        try:
            return read_json(path)
        except json.JSONDecodeError:
            return None
    return None


def find_runs(out: str | os.PathLike = "runs", experiment: str | None = None) -> list[Path]:
    """Run directories (with a config.json) under the store, optionally of one experiment."""
    root = Path(out) / experiment if experiment else Path(out)
    return sorted(p.parent for p in root.glob("**/config.json"))
