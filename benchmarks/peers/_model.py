"""The model contract of mmcv 1.x runners (runnerkit's too): ``train_step`` returns a dict."""

from __future__ import annotations

from typing import Any

import torch
from workload import loss_of


class StepModel(torch.nn.Module):
    """Wraps the workload's network; ``item=True`` hands the log buffer a float, as mmcv models do."""

    def __init__(self, net: torch.nn.Module, item: bool = False) -> None:
        super().__init__()
        self.net = net
        self.item = item

    def train_step(self, batch: Any, optimizer: Any = None, **kwargs: Any) -> dict[str, Any]:
        loss = loss_of(self.net, batch)
        logged = loss.item() if self.item else loss.detach()
        return {"loss": loss, "log_vars": {"loss": logged}, "num_samples": len(batch[0])}
