"""``IterBasedRunner``: trains for ``max_iters`` iterations (mmcv 1.x semantics)."""

from __future__ import annotations

from runnerkit.runners.base import BaseRunner


class IterBasedRunner(BaseRunner):
    """Iteration-based runner: the workflow counts iterations."""
