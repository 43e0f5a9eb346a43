"""mmcv's ``digit_version`` and ``get_git_hash``."""

from __future__ import annotations

import os
import subprocess

from packaging.version import Version

__all__ = ["digit_version", "get_git_hash"]

def digit_version(version_str: str, length: int = 4) -> tuple[int, ...]:
    """A version as a tuple of ints that compares as mmcv compares versions (``"1.7.2"``, ``"2.0.0rc1"``).

    The release numbers, cut or padded to ``length``, then two more: a pre-release ``a``/``b``/``rc``
    gives ``(-3|-2|-1, n)``, a dev release ``(-4, 0)``, a post release ``(1, n)``, a final release ``(0, 0)``.

    Raises:
        packaging.version.InvalidVersion: ``version_str`` is not a version.

    Example:
        >>> digit_version("1.7.2") > digit_version("1.7.2rc1")
        True
    """
    version = Version(version_str)
    release = list(version.release[:length])
    release += [0] * (length - len(release))
    if version.is_prerelease:
        if version.pre:
            release += [{"a": -3, "b": -2, "rc": -1}[version.pre[0]], version.pre[1]]
        else:
            release += [-4, 0]
    elif version.is_postrelease:
        release += [1, version.post or 0]
    else:
        release += [0, 0]
    return tuple(release)


def get_git_hash(fallback: str = "unknown", digits: int | None = None) -> str:
    """The commit hash of the git repository in the working folder (``fallback`` when there is none)."""
    if digits is not None and not isinstance(digits, int):
        raise TypeError("digits must be None or an integer")
    env = {k: os.environ[k] for k in ("SYSTEMROOT", "PATH", "HOME") if k in os.environ}
    env.update(LANGUAGE="C", LANG="C", LC_ALL="C")
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, env=env, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return fallback
    sha = out.stdout.strip().decode("ascii", "replace")
    if out.returncode != 0 or not sha:
        return fallback
    return sha[:digits] if digits is not None else sha
