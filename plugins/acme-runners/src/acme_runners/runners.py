"""Runners that seed torch's random number generators when ``run`` starts."""

from __future__ import annotations

from typing import Any

import torch
from pydantic import Field

import runnerkit


class SeededRunnerArgs(runnerkit.BaseRunnerArgs):
    """The arguments of runnerkit's ``BaseRunner`` plus ``seed``."""

    seed: int | None = Field(
        default=None,
        ge=0,
        description="Seed torch's random number generators with this value when `run` starts; "
        "None leaves them as they are.",
    )


def _seed(runner: runnerkit.BaseRunner) -> int | None:
    seed = runner.args.seed  # type: ignore[attr-defined]  # the runner's args_model is SeededRunnerArgs
    if seed is not None:
        torch.manual_seed(seed)
    return seed  # type: ignore[no-any-return]


class SeededIterRunner(runnerkit.IterBasedRunner):
    """An ``IterBasedRunner`` that seeds torch when ``run`` starts (found by entry point).

    Example:
        >>> runner = runnerkit.build(dict(type="SeededIterRunner", max_iters=10, seed=0),
        ...                          default_args=dict(model=model))
    """

    args_model = SeededRunnerArgs

    @property
    def seed(self) -> int | None:
        """The seed given in the config (None: not seeded)."""
        return self.args.seed  # type: ignore[no-any-return, attr-defined]

    def run(self, *args: Any, **kwargs: Any) -> None:
        """Seed torch (if a seed was given), then run the loop as the parent runner does."""
        _seed(self)
        super().run(*args, **kwargs)


class SeededEpochRunner(runnerkit.EpochBasedRunner):
    """An ``EpochBasedRunner`` that seeds torch when ``run`` starts (found through the pluggy plugin)."""

    args_model = SeededRunnerArgs

    @property
    def seed(self) -> int | None:
        """The seed given in the config (None: not seeded)."""
        return self.args.seed  # type: ignore[no-any-return, attr-defined]

    def run(self, *args: Any, **kwargs: Any) -> None:
        """Seed torch (if a seed was given), then run the loop as the parent runner does."""
        _seed(self)
        super().run(*args, **kwargs)
