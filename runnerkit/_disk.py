"""Saving onto a full disk: one message that names the file system, not a chained torch traceback.

``torch.save`` reports a full disk as ``OSError: [Errno 28]`` from its zip writer, and then, while
closing the half-written archive, as ``RuntimeError: [enforce fail at inline_container.cc]`` chained
onto it. :func:`full_disk_error` finds the ``OSError`` in that chain and says which disk is full.
"""

from __future__ import annotations

import errno
import os

from runnerkit._errors import CheckpointError

__all__ = ["full_disk_error"]

#: errors that mean "no room for this file here": a full disk, a full quota, a file-size limit
_NO_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def full_disk_error(path: str, err: BaseException) -> CheckpointError | None:
    """A :class:`CheckpointError` for ``path`` if ``err`` (or an exception it chains) means no room, else None."""
    cause = _no_room(err)
    if cause is None:
        return None
    directory = os.path.dirname(os.path.abspath(path))
    mount = _mount_point(directory)
    try:
        stats = os.statvfs(directory)
        free = f"{stats.f_bavail * stats.f_frsize:,} bytes free"
    except OSError:
        free = "free space unknown"
    return CheckpointError(
        path, f"could not be written: {os.strerror(cause.errno or errno.ENOSPC)} on the file system mounted at "
        f"`{mount}` ({free}). Nothing was replaced: an earlier checkpoint, if any, is intact. Free space there, or write "
        "checkpoints to another disk (`checkpoint_config.out_dir`, or choose another `work_dir`), then resume."
    )


def _no_room(err: BaseException | None) -> OSError | None:
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, OSError) and err.errno in _NO_ROOM:
            return err
        err = err.__cause__ or err.__context__
    return None


def _mount_point(directory: str) -> str:
    path = os.path.realpath(directory)
    while not os.path.ismount(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path
