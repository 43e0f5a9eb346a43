"""A runner constructor that records who built the runner."""

from __future__ import annotations

from typing import Any

import runnerkit

STAMP = "acme-runners:StampedRunnerConstructor"


class StampedRunnerConstructor(runnerkit.DefaultRunnerConstructor):
    """Builds like ``DefaultRunnerConstructor``, then adds ``built_by`` to ``runner.meta``.

    Select it with the ``constructor`` key of a runner config:

    Example:
        >>> runner = runnerkit.build(dict(type="IterBasedRunner", constructor="StampedRunnerConstructor",
        ...                               max_iters=10), default_args=dict(model=model))
        >>> runner.meta["built_by"]
        'acme-runners:StampedRunnerConstructor'
    """

    def __call__(self) -> Any:
        runner = super().__call__()
        runner.meta = {**(runner.meta or {}), "built_by": STAMP}
        return runner
