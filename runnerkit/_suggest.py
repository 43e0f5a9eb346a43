"""The one "did you mean" helper of the package: the closest known names to a misspelt one."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["MAX_HINTS", "closest", "did_you_mean", "edit_distance", "suggestion"]

#: unknown names in one section past this many get no "did you mean" (each costs a fuzzy match; a
#: section with thousands of unknown keys is not a few misspellings, and stays linear to check).
MAX_HINTS = 50


def edit_distance(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) that turn ``a`` into ``b``.

    Example:
        >>> edit_distance("load_form", "load_from")
        1
    """
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, previous2[j - 2] + 1)
            current.append(cost)
        previous2, previous = previous, current
    return previous[-1]


def closest(name: str, known: Iterable[str], n: int = 3, cutoff: float = 0.6) -> list[str]:
    """Up to ``n`` names in ``known`` most like ``name``, best first.

    Names within two edits of ``name`` win (``lr_confg`` -> ``lr_config``), whatever their length;
    without any, the names most alike by :mod:`difflib`'s ratio above ``cutoff``.
    """
    names = list(dict.fromkeys(known))
    near = sorted((d, k) for k in names  # lengths 3 apart are 3 edits apart at least: skip the table
                  if abs(len(k) - len(name)) <= 2 and (d := edit_distance(name, k)) <= 2 and d < max(len(name), 1))
    found = [k for _, k in near] or difflib.get_close_matches(name, names, n=n, cutoff=cutoff)
    return found[:n]


def did_you_mean(name: str, known: Iterable[str], n: int = 3, cutoff: float = 0.6) -> str:
    """``"Did you mean `a` or `b`?"`` for the names closest to ``name``, or ``""`` when none is close.

    Example:
        >>> did_you_mean("IterBasedRuner", ["IterBasedRunner", "EpochBasedRunner"])
        'Did you mean `IterBasedRunner`?'
    """
    return suggestion(closest(name, known, n, cutoff))


def suggestion(found: Iterable[str]) -> str:
    """``"Did you mean `a` or `b`?"`` for names already chosen, or ``""`` when there are none."""
    names = list(found)
    return f"Did you mean {' or '.join(f'`{c}`' for c in names)}?" if names else ""
