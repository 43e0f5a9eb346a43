"""An on-disk cache of the entry-point scan, validated against the state of ``sys.path``.

The key is the list of ``sys.path`` entries with each one's modification time: installing or
uninstalling a distribution adds or removes a ``*.dist-info`` folder, which changes the
modification time of the folder holding it, so a stale cache is never used. As git does for its
index, an entry modified within :data:`RACY_NS` of the cache being written is not trusted (its
timestamp cannot tell an install that came just after the write), so the next process scans again.

Distributions that declare runnerkit entry points have their ``entry_points.txt`` watched too
(modification time and size), so editing one in place (an editable install's metadata rewritten,
a hand edit) is noticed although no folder changes.

The cache is the user's own: its folder is created private (``0700``), files are written ``0600``,
and a cache folder or file owned by another user, or writable by group or others, is ignored
(discovery scans again; no error). Files older than :data:`MAX_AGE_S`, beyond the newest
:data:`KEEP_FILES`, and temporary files of interrupted writes are pruned when a cache is written.

Set ``RUNNERKIT_CACHE_DIR`` to move the cache, or ``RUNNERKIT_NO_CACHE=1`` to turn it off.

Reading the cache is on the path of every ``import runnerkit`` + lookup, so this module imports
only what that needs (no hashlib, tempfile or pathlib).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import zlib
from collections.abc import Sequence
from typing import Any

#: a folder changed this close to the cache being written makes the cache untrusted.
RACY_NS = 2_000_000_000
FORMAT = 3
#: cache files older than this are removed when a cache is written.
MAX_AGE_S = 30 * 24 * 3600
#: at most this many cache files are kept (one per distinct ``sys.path``), the newest.
KEEP_FILES = 16
#: a temporary file older than this is left over from an interrupted write.
TMP_AGE_S = 3600


def cache_dir() -> str | None:
    """Where the cache lives, or None when caching is turned off."""
    if os.environ.get("RUNNERKIT_NO_CACHE", "").strip().lower() in {"1", "true", "yes", "on"}:
        return None
    explicit = os.environ.get("RUNNERKIT_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "runnerkit")


def path_state(path: Sequence[str]) -> list[list[Any]]:
    """``[absolute entry, mtime_ns]`` for every ``sys.path`` entry (``None`` when it does not exist)."""
    state: list[list[Any]] = []
    for entry in path:
        try:
            mtime: int | None = os.stat(entry or ".").st_mtime_ns
        except OSError:
            mtime = None
        state.append([os.path.abspath(entry or "."), mtime])
    return state


def file_state(files: Sequence[str]) -> list[list[Any]]:
    """``[file, mtime_ns, size]`` of each watched file (``None``, ``None`` when it cannot be read)."""
    state: list[list[Any]] = []
    for name in files:
        try:
            st = os.stat(name)
            state.append([name, st.st_mtime_ns, st.st_size])
        except OSError:
            state.append([name, None, None])
    return state


def _private(st: os.stat_result) -> bool:
    """Owned by this user and writable by nobody else (always true where there are no owners)."""
    if os.name != "posix":
        return True
    return st.st_uid == os.geteuid() and not st.st_mode & 0o022


def _key(state: list[list[Any]], salt: str) -> list[Any]:
    return [FORMAT, salt, sys.version, [entry for entry, _ in state]]


def _file(directory: str, key: list[Any]) -> str:
    text = json.dumps(key).encode()
    # Two checksums make a 64-bit name; a collision only costs a rescan (the key is stored and compared).
    digest = f"{zlib.crc32(text):08x}{zlib.adler32(text):08x}"
    return os.path.join(directory, f"discovery-{digest}.json")


def load(path: Sequence[str], salt: str) -> Any | None:
    """The cached payload for this ``sys.path`` state, or None when missing, stale, racy or not the user's own."""
    directory = cache_dir()
    if directory is None:
        return None
    state = path_state(path)
    key = _key(state, salt)
    try:
        if not _private(os.stat(directory)):
            return None
        with open(_file(directory, key), encoding="utf-8") as fh:
            if not _private(os.fstat(fh.fileno())):
                return None
            stored = json.load(fh)
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(stored, dict) or stored.get("key") != key or stored.get("state") != state:
        return None
    written = stored.get("written_ns")
    watched = stored.get("watched")
    if not isinstance(written, int) or not isinstance(watched, list):
        return None
    if any(mtime is not None and mtime >= written - RACY_NS for _, mtime in state):
        return None
    files = [w[0] for w in watched if isinstance(w, list) and len(w) == 3 and isinstance(w[0], str)]
    if len(files) != len(watched) or file_state(files) != watched:
        return None  # an entry_points.txt was edited in place (or is gone)
    if any(mtime is not None and mtime >= written - RACY_NS for _, mtime, _ in watched):
        return None
    return stored.get("payload")


def store(
    path: Sequence[str], salt: str, state: list[list[Any]], payload: Any, watched: Sequence[str] = ()
) -> None:
    """Write ``payload`` atomically for the ``sys.path`` state read *before* scanning.

    ``watched`` files (the ``entry_points.txt`` of runnerkit-declaring distributions) are
    checked when the cache is read. Failing to write (read-only home, full disk, a folder that
    is not the user's own) is not an error: discovery only gets slower.
    """
    directory = cache_dir()
    if directory is None:
        return
    key = _key(state, salt)
    data = {"key": key, "state": state, "watched": file_state(watched), "written_ns": time.time_ns(), "payload": payload}
    target = _file(directory, key)
    tmp = f"{target}.{os.getpid()}.{time.monotonic_ns()}.tmp"
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        if not _private(os.stat(directory)):
            return
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(data))  # dumps uses the C encoder; dump does not
        os.replace(tmp, target)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return
    prune(directory, keep=target)


def prune(directory: str, keep: str | None = None) -> None:
    """Remove old cache files: older than :data:`MAX_AGE_S`, beyond the newest :data:`KEEP_FILES`, stale temporaries."""
    now = time.time()
    found: list[tuple[float, str]] = []
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if not name.startswith("discovery-"):
            continue
        full = os.path.join(directory, name)
        try:
            mtime = os.stat(full).st_mtime
        except OSError:
            continue
        if name.endswith(".tmp"):
            if now - mtime > TMP_AGE_S:
                with contextlib.suppress(OSError):
                    os.unlink(full)
        elif name.endswith(".json") and full != keep:
            found.append((mtime, full))
    found.sort(reverse=True)
    for rank, (mtime, full) in enumerate(found, start=2):  # the file just written is the first
        if rank > KEEP_FILES or now - mtime > MAX_AGE_S:
            with contextlib.suppress(OSError):
                os.unlink(full)
