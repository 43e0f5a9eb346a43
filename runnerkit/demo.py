"""The built-in demo: a small classifier learning synthetic spirals (nothing to download).

``runnerkit demo`` trains :class:`DemoModel` on :class:`DemoDataset` with :data:`DEMO_CONFIG`.
Both are published as components (``runnerkit.models`` / ``runnerkit.datasets`` entry points),
so any config can name them: ``model=dict(type="DemoModel")``.

Example:
    >>> from runnerkit.demo import DemoDataset, DemoModel
    >>> data = DemoDataset(num_samples=8)
    >>> x, y = data[0]
    >>> tuple(x.shape), int(y) in range(3)
    ((2,), True)
"""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["DEMO_CONFIG", "demo_config", "DemoDataset", "DemoModel"]


#: The demo job (an mmcv-shaped config; ``max_iters`` and ``work_dir`` are set by the command).
DEMO_CONFIG: dict[str, Any] = {
    "seed": 0,
    "num_threads": 1,
    "model": {"type": "DemoModel", "in_features": 2, "hidden": 64, "num_classes": 3},
    "data": {
        "samples_per_gpu": 64,
        "workers_per_gpu": 0,
        "train": {"type": "DemoDataset", "num_samples": 2048, "seed": 0},
        "val": {"type": "DemoDataset", "num_samples": 512, "seed": 1},
    },
    "optimizer": {"type": "SGD", "lr": 0.2, "momentum": 0.9, "weight_decay": 1e-4},
    "optimizer_config": {"grad_clip": None},
    "lr_config": {"policy": "step", "step": [400, 500], "gamma": 0.2, "warmup": "linear", "warmup_iters": 50, "warmup_ratio": 0.1},
    "checkpoint_config": {"interval": 200, "max_keep_ckpts": 3},
    "log_config": {"interval": 20, "hooks": [{"type": "TextLoggerHook"}]},
    "custom_hooks": [{"type": "ProgressBarHook"}],
    "runner": {"type": "IterBasedRunner", "max_iters": 600},
    "evaluation": {"interval": 100},
    "workflow": [("train", 1)],
}


def demo_config(max_iters: int = 600) -> dict[str, Any]:
    """:data:`DEMO_CONFIG` with its schedule, checkpoint and log intervals scaled to ``max_iters``."""
    if max_iters < 1:
        raise ValueError(f"`max_iters` must be a positive int, got {max_iters}.")
    cfg = copy.deepcopy(DEMO_CONFIG)
    cfg["runner"]["max_iters"] = max_iters
    cfg["lr_config"]["step"] = [max(1, max_iters * 2 // 3), max(1, max_iters * 5 // 6)]
    cfg["lr_config"]["warmup_iters"] = max(1, min(50, max_iters // 10))
    cfg["checkpoint_config"]["interval"] = _every(max_iters, 3)
    cfg["log_config"]["interval"] = max(1, min(20, max_iters // 10))
    cfg["evaluation"]["interval"] = _every(max_iters, 6)
    return cfg


def _every(total: int, times: int) -> int:
    """An interval that happens about ``times`` times in ``total`` iterations, dividing it when it can."""
    target = max(1, total // times)
    divisor = next(d for d in range(target, 0, -1) if total % d == 0)
    return divisor if divisor * 2 >= target else target


class DemoDataset(torch.utils.data.Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Points on ``num_classes`` interleaved noisy spiral arms; the label is the arm.

    Deterministic: the same ``seed`` gives the same points on every machine.

    Args:
        num_samples: how many points.
        num_classes: how many spiral arms (classes).
        noise: standard deviation of the Gaussian noise added to each point.
        seed: the generator seed.
    """

    def __init__(self, num_samples: int = 2048, num_classes: int = 3, noise: float = 0.08, seed: int = 0) -> None:
        if num_samples < 1 or num_classes < 2:
            raise ValueError(f"DemoDataset needs num_samples >= 1 and num_classes >= 2, got {num_samples} and {num_classes}.")
        gen = torch.Generator().manual_seed(seed)
        labels = torch.arange(num_samples) % num_classes
        radius = torch.rand(num_samples, generator=gen)
        angle = labels.double() * (2 * math.pi / num_classes) + radius.double() * 3.0
        points = torch.stack([radius * torch.cos(angle).float(), radius * torch.sin(angle).float()], dim=1)
        self.points = points + noise * torch.randn(points.shape, generator=gen)
        self.labels = labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.points[index], self.labels[index]


class DemoModel(nn.Module):
    """A two-layer perceptron classifier with mmcv's ``train_step``/``val_step``.

    Args:
        in_features: the input size.
        hidden: the hidden layer's width.
        num_classes: the number of classes.
    """

    def __init__(self, in_features: int = 2, hidden: int = 64, num_classes: int = 3) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # type: ignore[no-any-return]

    def _step(self, data_batch: Any) -> dict[str, Any]:
        x, y = data_batch
        device = next(self.parameters()).device
        x, y = x.to(device), y.to(device)
        logits = self(x)
        loss = F.cross_entropy(logits, y)
        # Tensors, not floats: the runner reads them back only at log intervals.
        acc = (logits.detach().argmax(dim=1) == y).float().mean()
        return {"loss": loss, "log_vars": {"loss": loss.detach(), "acc": acc}, "num_samples": len(y)}

    def train_step(self, data_batch: Any, optimizer: Any = None, **kwargs: Any) -> dict[str, Any]:
        """One training step: the loss (the optimizer hook steps) and the values to log."""
        return self._step(data_batch)

    def val_step(self, data_batch: Any, optimizer: Any = None, **kwargs: Any) -> dict[str, Any]:
        """One validation step without gradients."""
        with torch.no_grad():
            return self._step(data_batch)
