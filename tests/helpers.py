"""Small real models and loaders shared by the training tests."""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import DataLoader, TensorDataset


class TinyNet(torch.nn.Module):
    """A linear regressor with mmcv's ``train_step``/``val_step`` contract."""

    def __init__(self, d_in: int = 4) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(d_in, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x).squeeze(-1)

    def train_step(self, batch: Any, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        x, y = batch
        loss = (self(x) - y).pow(2).mean()
        return {"loss": loss, "log_vars": {"loss": loss.detach()}, "num_samples": len(x)}

    def val_step(self, batch: Any, optimizer: Any = None, **kwargs: Any) -> dict[str, Any]:
        return self.train_step(batch, optimizer)


def make_loader(n: int = 8, batch_size: int = 2, d_in: int = 4, shuffle: bool = False, seed: int = 0) -> DataLoader:
    g = torch.Generator().manual_seed(seed)
    ds = TensorDataset(torch.randn(n, d_in, generator=g), torch.randn(n, generator=g))
    return DataLoader(ds, batch_size=batch_size, shuffle=shuffle)
