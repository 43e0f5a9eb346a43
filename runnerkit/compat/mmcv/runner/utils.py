"""mmcv 1.x's runner utilities: host and time strings, ``obj_from_dict``, ``set_random_seed``."""

from __future__ import annotations

import getpass
import os
import socket
import sys
import time
from collections.abc import Mapping
from typing import Any

import torch

from runnerkit.dist import get_dist_info
from runnerkit.seed import seed_everything

__all__ = ["get_host_info", "get_time_str", "obj_from_dict", "set_random_seed"]


def get_host_info() -> str:
    """``user@host``."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name in some containers
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return f"{user}@{socket.gethostname()}"


def get_time_str() -> str:
    """The local time as ``YYYYmmdd_HHMMSS``."""
    return time.strftime("%Y%m%d_%H%M%S", time.localtime())


def obj_from_dict(info: Mapping[str, Any], parent: Any = None, default_args: Mapping[str, Any] | None = None) -> Any:
    """Build ``info["type"]`` (a class, or its name in ``parent`` or ``sys.modules``) with the other keys.

    Example:
        >>> obj_from_dict(dict(type="SGD", lr=0.1, params=[torch.zeros(1, requires_grad=True)]), torch.optim).defaults["lr"]
        0.1
    """
    if not isinstance(info, Mapping) or "type" not in info:
        raise TypeError(f"info must be a dict with the key `type`, got `{info!r:.80}`.")
    if default_args is not None and not isinstance(default_args, Mapping):
        raise TypeError(f"default_args must be a dict or None, got {type(default_args).__name__}.")
    args = dict(info)
    obj_type = args.pop("type")
    if isinstance(obj_type, str):
        obj_type = getattr(parent, obj_type) if parent is not None else sys.modules[obj_type]
    elif not isinstance(obj_type, type):
        raise TypeError(f"type must be a str or valid type, but got {type(obj_type)}")
    for name, value in (default_args or {}).items():
        args.setdefault(name, value)
    return obj_type(**args)


def set_random_seed(seed: int, deterministic: bool = False, use_rank_shift: bool = False) -> None:
    """Seed Python, NumPy, torch and CUDA (mmcv); ``use_rank_shift`` adds this process's rank.

    ``deterministic`` makes cuDNN deterministic and turns off its benchmarking (mmcv's
    meaning); it does not switch on ``torch.use_deterministic_algorithms``.
    """
    if use_rank_shift:
        seed += get_dist_info()[0]
    seed_everything(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    if deterministic:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
