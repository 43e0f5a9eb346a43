"""Reading installed distributions' metadata for runnerkit entry points.

Only metadata is read here: no component module is imported. The result of a scan is a plain,
JSON-able structure cached on disk by :mod:`runnerkit._cache`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TypedDict

from runnerkit import _cache
from runnerkit._records import GROUP_TO_KIND, PLUGIN_GROUP, normalize_dist
from runnerkit._version import __version__

GROUPS = frozenset(GROUP_TO_KIND) | {PLUGIN_GROUP}


class EntryRecord(TypedDict):
    """One runnerkit entry point, as found in a distribution's metadata."""

    group: str
    name: str
    value: str
    dist: str
    version: str
    #: why this distribution does not work with the installed runnerkit, or None.
    incompatible: str | None


def scan(path: Sequence[str] | None = None) -> list[EntryRecord]:
    """Every runnerkit entry point on ``path`` (default ``sys.path``), from the cache when valid."""
    path = list(sys.path if path is None else path)
    cached = _cache.load(path, __version__)
    if cached is not None:
        return list(cached)
    state = _cache.path_state(path)
    entries = _scan_uncached(path)
    _cache.store(path, __version__, state, entries)
    return entries


def _scan_uncached(path: list[str]) -> list[EntryRecord]:
    import importlib_metadata

    seen: set[str] = set()
    entries: list[EntryRecord] = []
    for dist in importlib_metadata.distributions(path=path):
        # The first distribution of a name on sys.path shadows later ones, as for imports.
        key = getattr(dist, "_normalized_name", None) or normalize_dist(dist.metadata["Name"] or "")
        if key in seen:
            continue
        seen.add(key)
        text = dist.read_text("entry_points.txt")
        if not text or "runnerkit." not in text:
            continue
        selected = [ep for ep in dist.entry_points if ep.group in GROUPS]
        if not selected:
            continue
        name = dist.metadata["Name"] or key
        version = dist.version
        incompatible = _incompatibility(name, dist.requires or [])
        entries.extend(
            EntryRecord(
                group=ep.group, name=ep.name, value=ep.value, dist=name, version=version,
                incompatible=incompatible,
            )
            for ep in selected
        )
    return entries


def _incompatibility(dist_name: str, requires: list[str]) -> str | None:
    """Why ``dist_name``'s requirement on runnerkit excludes this runnerkit, or None."""
    if normalize_dist(dist_name) == "runnerkit":
        return None
    from packaging.requirements import InvalidRequirement, Requirement

    for line in requires:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if normalize_dist(req.name) != "runnerkit":
            continue
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        if req.specifier and not req.specifier.contains(__version__, prereleases=True):
            return (
                f"it requires `runnerkit{req.specifier}` but runnerkit {__version__} is installed; "
                f"upgrade one of the two so that they match"
            )
    return None


def describe(entry: EntryRecord) -> str:
    """``name = value`` in ``group``: how messages name an entry point."""
    return f"{entry['name']} = {entry['value']} (group `{entry['group']}`)"
