"""An on-disk cache of the entry-point scan, validated against the state of ``sys.path``.

The key is the list of ``sys.path`` entries with each one's modification time: installing or
uninstalling a distribution adds or removes a ``*.dist-info`` folder, which changes the
modification time of the folder holding it, so a stale cache is never used. As git does for its
index, an entry modified within :data:`RACY_NS` of the cache being written is not trusted (its
timestamp cannot tell an install that came just after the write), so the next process scans again.

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
FORMAT = 2


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


def _key(state: list[list[Any]], salt: str) -> list[Any]:
    return [FORMAT, salt, sys.version, [entry for entry, _ in state]]


def _file(directory: str, key: list[Any]) -> str:
    text = json.dumps(key).encode()
    # Two checksums make a 64-bit name; a collision only costs a rescan (the key is stored and compared).
    digest = f"{zlib.crc32(text):08x}{zlib.adler32(text):08x}"
    return os.path.join(directory, f"discovery-{digest}.json")


def load(path: Sequence[str], salt: str) -> Any | None:
    """The cached payload for this ``sys.path`` state, or None when missing, stale or racy."""
    directory = cache_dir()
    if directory is None:
        return None
    state = path_state(path)
    key = _key(state, salt)
    try:
        with open(_file(directory, key), encoding="utf-8") as fh:
            stored = json.load(fh)
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or stored.get("key") != key or stored.get("state") != state:
        return None
    written = stored.get("written_ns")
    if not isinstance(written, int):
        return None
    if any(mtime is not None and mtime >= written - RACY_NS for _, mtime in state):
        return None
    return stored.get("payload")


def store(path: Sequence[str], salt: str, state: list[list[Any]], payload: Any) -> None:
    """Write ``payload`` atomically for the ``sys.path`` state read *before* scanning.

    Failing to write (read-only home, full disk) is not an error: discovery only gets slower.
    """
    directory = cache_dir()
    if directory is None:
        return
    key = _key(state, salt)
    data = {"key": key, "state": state, "written_ns": time.time_ns(), "payload": payload}
    target = _file(directory, key)
    tmp = f"{target}.{os.getpid()}.{time.monotonic_ns()}.tmp"
    try:
        os.makedirs(directory, exist_ok=True)
        with open(tmp, "x", encoding="utf-8") as fh:
            fh.write(json.dumps(data))  # dumps uses the C encoder; dump does not
        os.replace(tmp, target)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
