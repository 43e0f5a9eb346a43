"""``EpochBasedRunner``: trains for ``max_epochs`` epochs (mmcv 1.x semantics)."""

from __future__ import annotations

from runnerkit.runners.base import BaseRunner


class EpochBasedRunner(BaseRunner):
    """Epoch-based runner: the workflow counts epochs."""
