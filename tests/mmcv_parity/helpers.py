"""The small model the mmcv parity tests train (as mmcv's own runner tests do)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class Model(nn.Module):
    """A ``Linear(2, 1)`` whose loss is the mean of its output; ``val_step`` is ``train_step``."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 1)

    def train_step(self, batch: torch.Tensor, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        loss = self.fc(batch).mean()
        return {"loss": loss, "log_vars": {"loss": loss.detach()}, "num_samples": len(batch)}

    def val_step(self, batch: torch.Tensor, optimizer: Any = None, **kwargs: Any) -> dict[str, Any]:
        return self.train_step(batch, optimizer)
