"""Models for the distributed tests (named in configs as ``dist_models:NAME``; tests/scripts is on PYTHONPATH)."""

from __future__ import annotations

from torch import nn

from runnerkit.demo import DemoModel


class UnusedParamModel(DemoModel):
    """DemoModel with a layer its forward never uses: DDP needs ``find_unused_parameters=True`` for it."""

    def __init__(self, hidden: int = 8) -> None:
        super().__init__(hidden=hidden)
        self.unused = nn.Linear(hidden, hidden)
