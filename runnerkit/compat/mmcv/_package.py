"""The minimal ``mmcv`` package :func:`runnerkit.compat.mmcv.install` provides when no mmcv is installed.

It is loaded under the name ``mmcv``; its ``runner``, ``engine`` and ``parallel`` subpackages are
runnerkit's layer. The version is the mmcv release whose runner API the layer mirrors, so that
code checking ``mmcv.__version__`` (mmdet 2.x, mmseg 0.x) accepts it.
"""

from __future__ import annotations

import os
from typing import Any

__version__ = "1.7.2"
version_info = (1, 7, 2)
#: tells this stand-in from a real mmcv
__runnerkit_compat__ = True


def is_str(x: Any) -> bool:
    """Whether ``x`` is a str."""
    return isinstance(x, str)


def mkdir_or_exist(dir_name: str | os.PathLike[str], mode: int = 0o777) -> None:
    """Create ``dir_name`` with its parents unless it exists (mmcv)."""
    if dir_name == "":
        return
    os.makedirs(os.path.expanduser(os.fspath(dir_name)), mode=mode, exist_ok=True)
