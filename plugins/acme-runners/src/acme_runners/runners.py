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


class _Seeded:
    """Mixin: seed torch, then run the parent runner's loop."""

    args: SeededRunnerArgs

    @property
    def seed(self) -> int | None:
        """The seed given in the config (None: not seeded)."""
        return self.args.seed

    def run(self, data_loaders: list[Any], workflow: list[tuple[str, int]], **kwargs: Any) -> Any:
        if self.args.seed is not None:
            torch.manual_seed(self.args.seed)
        return super().run(data_loaders, workflow, **kwargs)  # type: ignore[misc]


class SeededIterRunner(_Seeded, runnerkit.IterBasedRunner):
    """An ``IterBasedRunner`` that seeds torch when ``run`` starts (found by entry point).

    Example:
        >>> runner = runnerkit.build(dict(type="SeededIterRunner", max_iters=10, seed=0),
        ...                          default_args=dict(model=model))
    """

    args_model = SeededRunnerArgs


class SeededEpochRunner(_Seeded, runnerkit.EpochBasedRunner):
    """An ``EpochBasedRunner`` that seeds torch when ``run`` starts (found through the pluggy plugin)."""

    args_model = SeededRunnerArgs
