"""mmcv 1.x's hook priorities (runnerkit's ``Priority`` and ``get_priority``)."""

from __future__ import annotations

from runnerkit.hooks.hook import Priority, get_priority

__all__ = ["Priority", "get_priority"]
