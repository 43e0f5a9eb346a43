"""The ``mmcv`` package :func:`runnerkit.compat.mmcv.install` provides when no mmcv is installed.

It is loaded under the name ``mmcv``; its ``runner``, ``engine``, ``parallel``, ``utils`` and
``fileio`` subpackages are runnerkit's layer, and it re-exports, as mmcv 1.7.2 does, the names of
``mmcv.utils`` and ``mmcv.fileio`` (``mmcv.Config``, ``mmcv.dump``, ``mmcv.ProgressBar``,
``mmcv.mkdir_or_exist``, ...). The version is the mmcv release whose API the layer mirrors, so
that code checking ``mmcv.__version__`` (mmdet 2.x, mmseg 0.x) accepts it. Image and video
functions (``mmcv.imread``, ...) are not provided (docs/migration.md, "Not provided").
"""

from __future__ import annotations

from runnerkit.compat.mmcv.fileio import *  # noqa: F403 - mmcv's top level re-exports these
from runnerkit.compat.mmcv.utils import *  # noqa: F403

__version__ = "1.7.2"
version_info = (1, 7, 2)
#: tells this stand-in from a real mmcv
__runnerkit_compat__ = True


def parse_version_info(version_str: str) -> tuple[int | str, ...]:
    """``"1.7.2rc1"`` -> ``(1, 7, 2, 'rc1')`` (mmcv's ``version.parse_version_info``)."""
    out: list[int | str] = []
    for part in version_str.split("."):
        if part.isdigit():
            out.append(int(part))
        elif "rc" in part:
            number, _, rc = part.partition("rc")
            out.extend([int(number), f"rc{rc}"])
    return tuple(out)
