"""Does a distribution's requirement on runnerkit (its ``Requires-Dist``) admit this runnerkit?

Read on every cold discovery scan for each distribution with runnerkit entry points, so the
common forms (``runnerkit``, ``runnerkit>=0.1``, ``runnerkit>=0.1,<2``) are decided here
without importing :mod:`packaging` (tens of milliseconds); anything else (markers, wildcards,
``~=``, pre-releases, local versions) goes to packaging, which implements PEP 440 in full.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable

from runnerkit._records import normalize_dist
from runnerkit._version import __version__

_OPS: dict[str, Callable[[tuple[int, ...], tuple[int, ...]], bool]] = {
    ">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne, ">": operator.gt, "<": operator.lt,
}


def incompatibility(dist_name: str, requires: Iterable[str], version: str = __version__) -> str | None:
    """Why ``dist_name`` cannot be used with runnerkit ``version``, or None when it can.

    Args:
        dist_name: the distribution whose metadata is read.
        requires: its ``Requires-Dist`` lines.
        version: the installed runnerkit version.

    Example:
        >>> incompatibility("acme", ["runnerkit>=99"], "0.1.0")[:33]
        'it requires `runnerkit>=99` but r'
    """
    if normalize_dist(dist_name) == "runnerkit":
        return None
    for line in requires:
        if "runnerkit" not in line.lower():
            continue
        specifier = _excluding_specifier(line, version)
        if specifier is not None:
            return (
                f"it requires `runnerkit{specifier}` but runnerkit {version} is installed; install a runnerkit "
                f"that matches (`pip install \"runnerkit{specifier}\"`) or a version of `{dist_name}` that "
                f"supports runnerkit {version}"
            )
    return None


def _excluding_specifier(line: str, version: str) -> str | None:
    """The specifier of a runnerkit requirement ``line`` that excludes ``version``, else None."""
    fast = _fast(line, version)
    if fast is not None:
        return fast[1] if not fast[0] else None
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        req = Requirement(line)
    except InvalidRequirement:
        return None
    if normalize_dist(req.name) != "runnerkit":
        return None
    if req.marker is not None and not req.marker.evaluate({"extra": ""}):
        return None
    if req.specifier and not req.specifier.contains(version, prereleases=True):
        return str(req.specifier)
    return None


def _fast(line: str, version: str) -> tuple[bool, str] | None:
    """``(admits, specifier)`` for plain ``runnerkit<op><X.Y.Z>,...`` lines; None to ask packaging."""
    text = line.replace(" ", "")
    if not text.lower().startswith("runnerkit") or any(c in text for c in ";[@*~+"):
        return None
    rest = text[len("runnerkit"):]
    if rest and rest[0] not in "<>=!":
        return None  # another name that starts with runnerkit (runnerkit-extras)
    installed = _release(version)
    if installed is None:
        return None
    specs = [s for s in rest.split(",") if s] if rest else []
    admits = True
    for spec in specs:
        op = spec[:2] if spec[:2] in _OPS else spec[:1]
        wanted = _release(spec[len(op):])
        if op not in _OPS or wanted is None:
            return None
        width = max(len(wanted), len(installed))
        if not _OPS[op](installed + (0,) * (width - len(installed)), wanted + (0,) * (width - len(wanted))):
            admits = False
    return admits, ",".join(specs)


def _release(text: str) -> tuple[int, ...] | None:
    parts = text.split(".")
    if not text or not all(p.isdigit() and p.isascii() for p in parts):
        return None
    return tuple(int(p) for p in parts)
