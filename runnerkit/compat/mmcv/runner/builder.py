"""mmcv 1.x's runner registries and ``build_runner``, on runnerkit's container."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runnerkit._build import build_runner as _build_runner
from runnerkit.compat.mmcv._registry import RUNNER_BUILDERS, RUNNERS

__all__ = ["RUNNERS", "RUNNER_BUILDERS", "build_runner", "build_runner_constructor"]


def build_runner_constructor(cfg: Mapping[str, Any]) -> Any:
    """``RUNNER_BUILDERS.build(cfg)``: a constructor from ``dict(type=..., runner_cfg=..., default_args=...)``."""
    return RUNNER_BUILDERS.build(cfg)


def build_runner(cfg: Mapping[str, Any], default_args: Mapping[str, Any] | None = None) -> Any:
    """Build a runner (``cfg["constructor"]`` names the constructor, default ``DefaultRunnerConstructor``)."""
    return _build_runner(cfg, default_args)
