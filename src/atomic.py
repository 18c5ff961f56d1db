"""Write-then-rename: a crash mid-write never leaves a truncated file under the real name
for a later run to trust (caches, checkpoints, OOF, submissions).

A killed writer leaves its hidden temporary (`.<name>.<host>-<pid>.<random>.tmp`) behind; the
next process writing into that folder deletes the ones whose process is gone, so repeated kills
do not pile up half checkpoints.
"""
from __future__ import annotations

import json
import os
import socket
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

_HOST = socket.gethostname().replace(".", "_")
_swept: set[Path] = set()  # folders this process has already cleaned
_PROC = Path("/proc/self/stat").exists()
_UMASK = os.umask(0o022)
os.umask(_UMASK)  # Linux: tells a zombie from a live process


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yields a temporary sibling of `path` to write; renamed onto `path` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{_HOST}-{os.getpid()}.", suffix=".tmp",
                               dir=path.parent)
    os.fchmod(fd, 0o666 & ~_UMASK)  # as open() would create it (mkstemp makes it owner-only)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def sweep(folder: Path) -> None:
    """Delete the temporaries that writers on this host left in `folder` when they died (once
    per folder and process: a later temporary belongs to a live writer)."""
    key = folder.resolve()
    if key in _swept:
        return
    _swept.add(key)
    for entry in os.scandir(folder):
        if not (entry.name.startswith(".") and entry.name.endswith(".tmp")):
            continue
        owner = entry.name[:-len(".tmp")].rsplit(".", 2)
        host, _, pid = owner[1].rpartition("-") if len(owner) == 3 else ("", "", "")
        if host == _HOST and pid.isdigit() and not _alive(int(pid)):
            try:
                os.remove(entry.path)
            except FileNotFoundError:  # another process swept it first
                pass


def _alive(pid: int) -> bool:
    """Whether process `pid` runs; a zombie (killed, not yet reaped) does not."""
    if _PROC:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return False
        except OSError:  # cannot tell: keep its file
            return True
        return stat[stat.rindex(")") + 2:][:1] not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def write_npy(path: str | Path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, array)


def write_json(path: str | Path, obj: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=1))


def write_csv(path: str | Path, df: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
