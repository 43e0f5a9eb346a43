"""One run per work dir, while it runs: an ``fcntl.flock`` lock on ``<work dir>/.runnerkit.lock``.

:func:`runnerkit.workdir.prepare` takes it first, before it cleans or reads anything, and the run
holds it for its lifetime. The operating system releases it when the process ends, however it
ends (a SIGKILL, a crash, a lost node), so a stale lock never blocks a restart. The holder writes
who it is into the file (pid, host, command, start time) so that a refused start can say which
process runs there. The file itself is never deleted (deleting a lock file races with the next
process that opens it).

Forked children (DataLoader workers) do not hold it. Within one process the lock is reentrant: a job built twice in one Python session (build, run,
then build again to resume) takes it again without refusing itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from runnerkit._errors import WorkDirLockedError

__all__ = ["LOCK_FILE", "WorkDirLock", "lock_work_dir", "locked"]

#: the lock file's name in a work dir.
LOCK_FILE = ".runnerkit.lock"

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks; runs are not locked there
    fcntl = None  # type: ignore[assignment]


@dataclass
class _Held:
    fd: int
    holds: int = 1


#: the work dirs this process holds, by real path.
_HELD: dict[str, _Held] = {}


def _forget_in_child() -> None:
    """In a forked child (a DataLoader worker): close the inherited lock descriptors, holding nothing.

    The parent keeps its lock; without this a worker that outlives a killed parent for a few
    seconds would keep the work dir locked against the restarted run.
    """
    for held in _HELD.values():
        with contextlib.suppress(OSError):
            os.close(held.fd)
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)


@dataclass
class WorkDirLock:
    """One hold on a work dir's lock; :meth:`release` gives it back (once; later calls do nothing).

    Attributes:
        directory: the work dir.
    """

    directory: str
    _key: str = field(default="", repr=False)
    _released: bool = field(default=False, repr=False)

    def release(self) -> None:
        """Give this hold back; the lock is unlocked when this process's last hold on the dir is."""
        if self._released or not self._key:
            return
        self._released = True
        held = _HELD.get(self._key)
        if held is None:
            return
        held.holds -= 1
        if held.holds <= 0:
            del _HELD[self._key]
            with contextlib.suppress(OSError):
                os.close(held.fd)  # closing the last descriptor unlocks


def lock_work_dir(directory: str | os.PathLike[str]) -> WorkDirLock:
    """Lock ``directory`` (created if needed) for this process's run, or refuse.

    Raises:
        WorkDirLockedError: another process holds it; the message names that process.
    """
    directory = os.fspath(directory)
    if fcntl is None:  # pragma: no cover - see above
        return WorkDirLock(directory)
    os.makedirs(directory, exist_ok=True)
    key = os.path.realpath(directory)
    held = _HELD.get(key)
    if held is not None:
        held.holds += 1
        return WorkDirLock(directory, key)
    path = os.path.join(directory, LOCK_FILE)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_holder(fd)
        os.close(fd)
        raise WorkDirLockedError(directory, holder) from None
    except BaseException:
        os.close(fd)
        raise
    _write_holder(fd)
    _HELD[key] = _Held(fd)
    return WorkDirLock(directory, key)


@contextlib.contextmanager
def locked(directory: str | os.PathLike[str] | None) -> Iterator[None]:
    """Hold ``directory``'s lock for the ``with`` block (nothing for None): what a runner's ``run`` does on rank 0.

    Raises:
        WorkDirLockedError: another process holds it.
    """
    hold = lock_work_dir(directory) if directory is not None else None
    try:
        yield
    finally:
        if hold is not None:
            hold.release()


def _write_holder(fd: int) -> None:
    info = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": " ".join(sys.argv) or sys.executable,
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    with contextlib.suppress(OSError):  # the lock holds without it; the refusal then names no process
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)


def _read_holder(fd: int) -> dict[str, Any]:
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode("utf-8", "replace") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
