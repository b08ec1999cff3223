"""Files that survive a kill: atomic writes (a temporary file in the same folder, fsync, then
rename), JSON read as data, and JSON Lines appended one synced line at a time and read back with a
damaged line skipped, never the rest. No torch: the pages read records through this module."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path


class StoreWriteError(OSError):
    """A file of the run store could not be written (disk full, read-only, ...); the previous
    version of the file is untouched."""


def write_failed(path: Path, e: OSError) -> StoreWriteError:
    return StoreWriteError(e.errno, f"cannot write {path}: {e.strerror or e}; what was stored before is kept")


def _file_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give a new file: 0o666 less the umask (mkstemp's
    temporary files are 0o600, which would make every file written here private to its writer)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


FILE_MODE = _file_mode()  # read once, at import: os.umask can only be read by setting it


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise write_failed(path, e) from e
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), FILE_MODE)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError) and not isinstance(e, StoreWriteError):
            raise write_failed(path, e) from e
        raise


def atomic_write_json(path: Path, obj) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def read_json(path: Path):
    with open(path) as f:
        return json.load(f)


def read_json_object(path: Path) -> tuple[dict | None, str | None]:
    """(the JSON object in ``path``, None), or (None, why it is not one): missing, unreadable, not
    JSON, or JSON that is not an object."""
    try:
        obj = json.loads(Path(path).read_bytes())
    except FileNotFoundError:
        return None, "it does not exist"
    except OSError as e:
        return None, f"it cannot be read ({e.strerror or e})"
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        return None, f"it is not valid JSON ({e})"
    if not isinstance(obj, dict):
        return None, f"it holds a JSON {type(obj).__name__}, not an object"
    return obj, None


def read_jsonl(path: Path, log=None) -> list[dict]:
    """The JSON objects of a .jsonl file, one a line. A torn last line (a kill mid-append) is
    ignored silently; any other line that is not a JSON object is skipped with one line naming the
    file and line, and every good line around it is kept."""
    log = log or log_to_stderr
    lines = Path(path).read_bytes().split(b"\n")
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (UnicodeDecodeError, json.JSONDecodeError):
            obj = None
        if isinstance(obj, dict):
            records.append(obj)
        elif number < len(lines):  # not a last line without its newline (torn by a kill mid-append)
            log(f"paper_repro: {path}, line {number}: not a JSON record; skipped (the other lines are kept)")
    return records


def log_to_stderr(msg: str) -> None:
    print(msg, file=sys.stderr)


def append_jsonl(path: Path, record: dict) -> None:
    """One JSON line appended and synced to disk; a failed write is one :class:`StoreWriteError`
    (the lines already there stay as they were)."""
    try:
        with open(path, "a") as f:
            f.write(json.dumps(record, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        raise write_failed(path, e) from e
