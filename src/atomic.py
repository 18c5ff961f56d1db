"""Write-then-rename: a crash mid-write never leaves a truncated file under the real name
for a later run to trust (caches, checkpoints, OOF, submissions).

A killed writer leaves its hidden temporary (`.<name>.<host>-<pid>.<random>.tmp`) behind; the
next process writing into that folder deletes the ones whose process is gone, so repeated kills
do not pile up half checkpoints.

A write that the disk refuses (full, over quota, read-only, not permitted) stops the run with one
line naming the folder and its free space (`DiskError`), whatever library wrote; it is never
mistaken for bad input. A target that exists and is no regular file (/dev/null, a FIFO,
/dev/stdout) is written in place: a rename would replace the device or pipe with a file.
`run_script` ends every script on Ctrl-C with one line and exit code 130.
"""
from __future__ import annotations

import errno
import json
import multiprocessing
import os
import re
import shutil
import socket
import stat
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd

_HOST = socket.gethostname().replace(".", "_")
_swept: set[Path] = set()  # folders this process has already cleaned
_PROC = Path("/proc/self/stat").exists()  # Linux: tells a zombie from a live process
_UMASK = os.umask(0o022)
os.umask(_UMASK)

FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}  # only a write of data raises these
REFUSED = {errno.EROFS, errno.EACCES, errno.EPERM}  # the folder takes no new file
INTERRUPTED = "interrupted: nothing half-written; run it again to resume"


class DiskError(SystemExit):
    """The disk refused an output. A SystemExit, so the script ends with its one-line message
    (exit code 1) and no `except Exception` on the way (prepare's per-file guard) can file it as
    unreadable audio; it crosses process pools whole."""


def disk_error(folder: str | Path, error: OSError, partial: str | None = None) -> DiskError:
    """The one line for `error` writing into `folder`: what the OS said and the space left once
    the `partial` file is deleted."""
    if partial and os.path.lexists(partial):
        os.remove(partial)
    where = Path(folder)
    while not where.exists() and where != where.parent:  # a folder not yet made: its disk
        where = where.parent
    try:
        usage = shutil.disk_usage(where)
        space = f"{_size(usage.free)} free of {_size(usage.total)}"
    except OSError:
        space = "free space unknown"
    reason = os.strerror(error.errno)
    fix = {errno.EFBIG: "write it to a file system that takes larger files",
           **dict.fromkeys(REFUSED, "make it writable or write elsewhere")}.get(
        error.errno, "free some space or write elsewhere")
    return DiskError(f"cannot write to {folder}: {reason[:1].lower()}{reason[1:]} ({space}); "
                     f"{fix}, then run it again")


def disk_refusal(folder: str | Path, error: OSError) -> DiskError | None:
    """The DiskError of an OSError that is the disk refusing a write (full, over quota,
    read-only, not permitted); None for any other error, which is no disk's fault."""
    return disk_error(folder, error) if error.errno in FULL | REFUSED else None


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            break
        n /= 1024
    return f"{n:.0f} B" if unit == "B" else f"{n:.1f} {unit}"


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yields a temporary sibling of `path` to write; renamed onto `path` on success.

    A device, FIFO or /dev/stdout is yielded itself, to be written in place. Any refusal of
    the disk, while creating, writing or renaming, is raised as DiskError; the temporary is
    removed either way."""
    path = Path(path)
    if _in_place(path):
        yield path
        return
    if path.is_symlink() and path.resolve().is_file():  # replace the file, keep the link
        path = path.resolve()
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        sweep(folder)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{_HOST}-{os.getpid()}.", suffix=".tmp",
                                   dir=folder)
        os.fchmod(fd, 0o666 & ~_UMASK)  # as open() would create it (mkstemp makes it owner-only)
        os.close(fd)
    except OSError as e:
        if refusal := disk_refusal(folder, e):
            raise refusal from e
        raise
    try:
        try:
            yield Path(tmp)
        except OSError as e:
            if e.errno in FULL or (e.errno in REFUSED and e.filename is not None
                                   and os.fspath(e.filename) == tmp):
                raise disk_error(folder, e, tmp) from e
            if e.errno is None and (full := _refused_growth(tmp)):  # numpy's tofile: "24000
                raise disk_error(folder, full, tmp) from e  # requested and 8128 written"
            raise
        except RuntimeError as e:  # torch.save: "unexpected pos 704 vs 662", no errno either
            if full := _refused_growth(tmp):
                raise disk_error(folder, full, tmp) from e
            raise
        try:
            os.replace(tmp, path)
        except OSError as e:
            if refusal := disk_refusal(folder, e):
                raise refusal from e
            raise
    finally:
        if os.path.lexists(tmp):
            os.remove(tmp)


def _in_place(path: Path) -> bool:
    """Whether `path` is to be written where it is, not renamed onto: it exists and is no
    regular file (a device such as /dev/null, a FIFO, a terminal), or it is one of this
    process's descriptors (/dev/stdout, /dev/fd/1, /proc/self/fd/1), which may lead to a file the
    shell redirected into; a rename would take the output away from whoever reads it."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return True
    except OSError:  # missing, or a dangling link: created by the rename as usual
        return False
    hop = os.path.abspath(path)
    for _ in range(40):  # the symlink chain, as far as the kernel would follow it
        if _DESCRIPTOR.fullmatch(hop):
            return True
        if not os.path.islink(hop):
            return False
        hop = os.path.abspath(os.path.join(os.path.dirname(hop), os.readlink(hop)))
    return False


_DESCRIPTOR = re.compile(r"/dev/(stdin|stdout|stderr|fd/\d+)|/proc/[^/]+/(task/\d+/)?fd/\d+")


def _refused_growth(tmp: str) -> OSError | None:
    """After a writer failed without saying why (numpy's and torch's C writers drop the errno):
    the OS's error when `tmp` cannot grow by 1 MiB more, i.e. the disk or quota is full; None
    when it can."""
    try:
        with open(tmp, "ab") as f:
            f.write(bytes(1 << 20))
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        return e if e.errno in FULL else None
    return None


def sweep(folder: Path, again: bool = False) -> None:
    """Delete the temporaries that writers on this host left in `folder` when they died (once
    per folder and process: a later temporary belongs to a live writer; `again` after this
    process ended writers of its own). A read-only folder keeps them."""
    key = folder.resolve()
    if key in _swept and not again:
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
            except OSError:  # another process swept it first, or the folder is read-only
                pass


def _alive(pid: int) -> bool:
    """Whether process `pid` runs; a zombie (killed, not yet reaped) does not."""
    if _PROC:
        try:
            stat_line = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return False
        except OSError:  # cannot tell: keep its file
            return True
        return stat_line[stat_line.rindex(")") + 2:][:1] not in ("Z", "X")
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


def update_csv(path: str | Path, df: pd.DataFrame) -> bool:
    """write_csv unless `path` already holds exactly this table (a read-only folder that is up
    to date is left alone); whether it wrote."""
    text = df.to_csv(index=False)
    try:
        if Path(path).read_text() == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return True


def run_script(main: Callable[[], object]) -> None:
    """Every script's `if __name__ == "__main__":` body: runs `main()`; Ctrl-C ends it at once
    with one line and exit code 130 (128 + SIGINT, as a shell reports it), not a traceback.

    Outputs are renamed only when whole and the unwinding has removed the temporaries, so an
    interrupted run leaves nothing half-written. Then the process's own workers (data loaders,
    decoders) are ended and it exits without the interpreter's teardown, which takes seconds
    once torch is loaded."""
    try:
        main()
    except KeyboardInterrupt:
        print(f"\n{INTERRUPTED}", file=sys.stderr)  # after whatever progress bar holds the line
        for child in multiprocessing.active_children():
            child.terminate()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
