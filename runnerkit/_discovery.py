"""Reading installed distributions' metadata for runnerkit entry points.

Only metadata is read here: no component module is imported. The result of a scan is a plain,
JSON-able structure cached on disk by :mod:`runnerkit._cache`.

The scan reads the metadata folders itself instead of going through :mod:`importlib.metadata`:
it lists each ``sys.path`` folder once, opens each distribution's ``entry_points.txt`` and
nothing else, and parses ``METADATA`` only for the few distributions that declare runnerkit
entry points. It follows importlib.metadata's rules (``*.dist-info`` and ``*.egg-info`` folders,
``EGG-INFO`` of ``*.egg`` folders, the first distribution of a name on ``sys.path`` wins) and
hands what it cannot read itself (zip files on ``sys.path``, ``*.egg-info`` metadata, other
importers' ``find_distributions``) to importlib.metadata.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypedDict

from runnerkit import _cache
from runnerkit._records import GROUP_TO_KIND, PLUGIN_GROUP, normalize_dist
from runnerkit._requirement import incompatibility
from runnerkit._version import __version__

GROUPS = frozenset(GROUP_TO_KIND) | {PLUGIN_GROUP}
#: cached scans are only valid for this runnerkit and these groups.
_SALT = __version__ + "|" + ",".join(sorted(GROUPS))


class EntryRecord(TypedDict):
    """One runnerkit entry point, as found in a distribution's metadata."""

    group: str
    name: str
    value: str
    dist: str
    version: str
    #: why this distribution does not work with the installed runnerkit, or None.
    incompatible: str | None
    #: the ``entry_points.txt`` it was read from ("" when read through importlib.metadata).
    source: str


def scan(path: Sequence[str] | None = None) -> list[EntryRecord]:
    """Every runnerkit entry point on ``path`` (default ``sys.path``), from the cache when valid."""
    path = list(sys.path if path is None else path)
    cached = _cache.load(path, _SALT)
    if cached is not None and _well_formed(cached):
        return list(cached)
    # The state is read before scanning: an install during the scan makes the cache stale.
    state = _cache.path_state(path)
    entries = _scan_uncached(path)
    watched = sorted({e["source"] for e in entries if e.get("source")})
    _cache.store(path, _SALT, state, entries, watched)
    return entries


_FIELDS = {"group": str, "name": str, "value": str, "dist": str, "version": str, "source": str}


def _well_formed(payload: Any) -> bool:
    """Whether a cached payload has the shape :func:`scan` returns (anything else is a miss)."""
    if not isinstance(payload, list):
        return False
    for entry in payload:
        if not isinstance(entry, dict) or set(entry) != {*_FIELDS, "incompatible"}:
            return False
        if not all(isinstance(entry[k], t) for k, t in _FIELDS.items()) or entry["group"] not in GROUPS:
            return False
        if entry["incompatible"] is not None and not isinstance(entry["incompatible"], str):
            return False
    return True


def _scan_uncached(path: list[str]) -> list[EntryRecord]:
    seen: set[str] = set()
    entries: list[EntryRecord] = []
    for key, info in _metadata_folders(path):
        # The first distribution of a name on sys.path shadows later ones, as for imports.
        if key in seen:
            continue
        seen.add(key)
        try:
            entries.extend(_from_folder(info) if isinstance(info, str) else _from_distribution(info))
        except Exception:  # unreadable metadata of one distribution must not stop discovery
            continue
    return entries


def _metadata_folders(path: list[str]) -> Iterator[tuple[str, Any]]:
    """``(normalised name, metadata folder or importlib Distribution)`` in ``sys.path`` order."""
    for entry in path:
        root = entry or "."
        try:
            children = os.listdir(root)
        except NotADirectoryError:
            yield from _keyed(_importlib_distributions([entry]))  # a zip file on sys.path
            continue
        except OSError:
            continue
        for child in children:
            low = child.lower()
            if low.endswith((".dist-info", ".egg-info")):
                yield _stem_key(low), os.path.join(root, child)
        if root.lower().endswith(".egg") and "EGG-INFO" in children:
            yield _stem_key(os.path.basename(root.rstrip(os.sep)).lower()), os.path.join(root, "EGG-INFO")
    # Importers other than the path finder may know distributions too (rare).
    others = [f for f in sys.meta_path if _is_foreign_finder(f)]
    if others:
        yield from _keyed(_importlib_distributions(path, others))


def _stem_key(name: str) -> str:
    return normalize_dist(name.rpartition(".")[0].partition("-")[0])


def _is_foreign_finder(finder: Any) -> bool:
    import importlib.machinery

    if finder is importlib.machinery.PathFinder or not hasattr(finder, "find_distributions"):
        return False
    module = type(finder).__module__ if not isinstance(finder, type) else finder.__module__
    return not module.startswith(("importlib_metadata", "importlib.metadata"))


def _importlib_distributions(path: list[str], finders: Iterable[Any] | None = None) -> Iterator[Any]:
    import importlib.metadata

    context = importlib.metadata.DistributionFinder.Context(path=path)
    if finders is None:
        yield from importlib.metadata.MetadataPathFinder.find_distributions(context)
        return
    for finder in finders:
        yield from finder.find_distributions(context)


def _keyed(dists: Iterable[Any]) -> Iterator[tuple[str, Any]]:
    for dist in dists:
        yield normalize_dist(dist.metadata["Name"] or ""), dist


def _from_folder(info: str) -> list[EntryRecord]:
    try:
        with open(os.path.join(info, "entry_points.txt"), "rb") as fh:  # binary: no codec for the many misses
            data = fh.read()
    except OSError:
        return []
    if b"runnerkit." not in data:
        return []
    selected = list(parse_entry_points(data.decode("utf-8", "replace")))
    if not selected:
        return []
    if info.lower().endswith(".dist-info"):
        name, version, requires = _read_metadata(os.path.join(info, "METADATA"))
    else:
        import importlib.metadata
        from pathlib import Path

        dist = importlib.metadata.PathDistribution(Path(info))
        name, version, requires = dist.metadata["Name"], dist.version, list(dist.requires or [])
    name = name or os.path.basename(info).rpartition(".")[0].partition("-")[0]
    return _records(name, version or "", requires, selected, os.path.join(info, "entry_points.txt"))


def _from_distribution(dist: Any) -> list[EntryRecord]:
    text = dist.read_text("entry_points.txt")
    if not text or "runnerkit." not in text:
        return []
    selected = list(parse_entry_points(text))
    if not selected:
        return []
    return _records(dist.metadata["Name"] or "", dist.version or "", list(dist.requires or []), selected)


def _records(
    name: str, version: str, requires: list[str], selected: list[tuple[str, str, str]], source: str = ""
) -> list[EntryRecord]:
    incompatible = incompatibility(name, requires)
    return [
        EntryRecord(group=group, name=ep_name, value=value, dist=name, version=version, incompatible=incompatible,
                    source=source)
        for group, ep_name, value in selected
    ]


def parse_entry_points(text: str) -> Iterator[tuple[str, str, str]]:
    """``(group, name, value)`` of the runnerkit entry points in an ``entry_points.txt``.

    The format is importlib.metadata's (an INI file); extras (``mod:attr [extra]``) are dropped
    from the value and spaces around ``:`` removed, so that the value is an importable target.
    """
    group = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line[0] == "[" and line[-1] == "]":
            group = line[1:-1].strip()
            continue
        if group not in GROUPS:
            continue
        name, sep, value = line.partition("=")
        if not sep:
            continue
        value = value.split("[", 1)[0]
        module, colon, attr = value.partition(":")
        yield group, name.strip(), module.strip() + colon + attr.strip()


def _read_metadata(path: str) -> tuple[str | None, str | None, list[str]]:
    """``Name``, ``Version`` and ``Requires-Dist`` lines of a ``METADATA`` file (its headers only)."""
    name = version = None
    requires: list[str] = []
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    break  # the body (long description) starts
                if line[0] in " \t":
                    continue  # a continuation line (of a long header we do not read)
                field, _, value = line.partition(":")
                field, value = field.strip().lower(), value.strip()
                if field == "name" and name is None:
                    name = value
                elif field == "version" and version is None:
                    version = value
                elif field == "requires-dist":
                    requires.append(value)
    except (OSError, UnicodeDecodeError):
        pass
    return name, version, requires


def describe(entry: EntryRecord) -> str:
    """``name = value`` in ``group``: how messages name an entry point."""
    return f"{entry['name']} = {entry['value']} (group `{entry['group']}`)"
