"""The model contract of mmcv 1.x runners (runnerkit's too): ``train_step`` returns a dict."""

from __future__ import annotations

from typing import Any

import torch
from workload import loss_of


class StepModel(torch.nn.Module):
    """Wraps the workload's network.

    Args:
        net: the network.
        item: hand the log buffer a Python float (``loss.item()``), as mmcv's models do.
        via_call: run the network through ``self(x)`` (``forward``), which is what
            ``compile=True`` compiles; by default ``train_step`` calls the network directly.
    """

    def __init__(self, net: torch.nn.Module, item: bool = False, via_call: bool = False) -> None:
        super().__init__()
        self.net = net
        self.item = item
        self.via_call = via_call

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # type: ignore[no-any-return]

    def train_step(self, batch: Any, optimizer: Any = None, **kwargs: Any) -> dict[str, Any]:
        loss = loss_of(self, batch) if self.via_call else loss_of(self.net, batch)
        logged = loss.item() if self.item else loss.detach()
        # x.size(0), not len(x): torch's Tensor.__len__ runs in Python (docs/plugins.md)
        return {"loss": loss, "log_vars": {"loss": logged}, "num_samples": batch[0].size(0)}
