"""Checking ``run(data_loaders, workflow)`` arguments and the deprecated ``max_*`` override."""

from __future__ import annotations

import warnings
from typing import Any


def check_workflow(data_loaders: Any, workflow: Any, runner: Any) -> list[tuple[str, int]]:
    """``workflow`` as a list of ``(mode, count)``; clear errors for anything else."""
    if not isinstance(data_loaders, (list, tuple)):
        raise TypeError(f"`data_loaders` must be a list (one loader per workflow phase), got {type(data_loaders).__name__}.")
    if not isinstance(workflow, (list, tuple)) or not workflow:
        raise ValueError(f"`workflow` must be a non-empty list like [('train', 1)], got `{workflow!r}`.")
    flows: list[tuple[str, int]] = []
    for flow in workflow:
        if not (isinstance(flow, (list, tuple)) and len(flow) == 2 and isinstance(flow[0], str)
                and isinstance(flow[1], int) and not isinstance(flow[1], bool) and flow[1] > 0):
            raise ValueError(f"Each workflow phase must be (mode, positive int) like ('train', 1), got `{flow!r}`.")
        mode = flow[0]
        if not callable(getattr(runner, mode, None)) or mode.startswith("_"):
            raise ValueError(f"Unknown workflow mode `{mode}`: {type(runner).__name__} has no method `{mode}`; use 'train' or 'val'.")
        flows.append((mode, flow[1]))
    if len(data_loaders) != len(flows):
        raise ValueError(
            f"`data_loaders` has {len(data_loaders)} loader(s) but `workflow` has {len(flows)} phase(s); "
            f"give one loader per phase, in the same order."
        )
    return flows


def deprecated_max(value: int | None, name: str, current: int | None) -> int | None:
    """mmcv's deprecated ``run(..., max_iters=N)`` / ``max_epochs=N`` override."""
    if value is None:
        return current
    warnings.warn(
        f"Setting `{name}` in `run()` is deprecated; pass it to the runner (e.g. `runner=dict(type=..., {name}=...)`).",
        DeprecationWarning,
        stacklevel=3,
    )
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"`{name}` must be a positive int, got `{value!r}`.")
    return value
