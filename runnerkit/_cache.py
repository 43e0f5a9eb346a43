"""An on-disk cache of the entry-point scan, validated against the state of ``sys.path``.

The key is the list of ``sys.path`` entries with each one's modification time: installing or
uninstalling a distribution adds or removes a ``*.dist-info`` folder, which changes the
modification time of the folder holding it, so a stale cache is never used. As git does for its
index, an entry modified within :data:`RACY_NS` of the cache being written is not trusted (its
timestamp cannot tell an install that came just after the write), so the next process scans again.

Set ``RUNNERKIT_CACHE_DIR`` to move the cache, or ``RUNNERKIT_NO_CACHE=1`` to turn it off.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: a folder changed this close to the cache being written makes the cache untrusted.
RACY_NS = 2_000_000_000
FORMAT = 1


def cache_dir() -> Path | None:
    """Where the cache lives, or None when caching is turned off."""
    if os.environ.get("RUNNERKIT_NO_CACHE", "").strip().lower() in {"1", "true", "yes", "on"}:
        return None
    explicit = os.environ.get("RUNNERKIT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "runnerkit"


def path_state(path: Sequence[str]) -> list[list[Any]]:
    """``[entry, mtime_ns]`` for every ``sys.path`` entry (``None`` when it does not exist)."""
    state: list[list[Any]] = []
    for entry in path:
        try:
            mtime: int | None = os.stat(entry or ".").st_mtime_ns
        except OSError:
            mtime = None
        state.append([entry or os.getcwd(), mtime])
    return state


def _key(path_key: list[list[Any]], salt: str) -> list[Any]:
    return [FORMAT, salt, sys.version, [entry for entry, _ in path_key]]


def _file(directory: Path, key: list[Any]) -> Path:
    digest = hashlib.sha1(json.dumps(key).encode()).hexdigest()[:20]
    return directory / f"discovery-{digest}.json"


def load(path: Sequence[str], salt: str) -> Any | None:
    """The cached payload for this ``sys.path`` state, or None when missing or stale."""
    directory = cache_dir()
    if directory is None:
        return None
    state = path_state(path)
    try:
        with open(_file(directory, _key(state, salt)), encoding="utf-8") as fh:
            stored = json.load(fh)
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or stored.get("state") != state:
        return None
    written = stored.get("written_ns", 0)
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
    data = {"state": state, "written_ns": time.time_ns(), "payload": payload}
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".discovery-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, _file(directory, _key(state, salt)))
    except OSError:
        pass
