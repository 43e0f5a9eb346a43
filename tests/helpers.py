"""Small real models, loaders and configs shared by the training tests."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
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


class ScaleNet(torch.nn.Module):
    """One weight (1.0 at the start); the loss of a batch is ``mean(w * batch)``, so its value is known."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))

    def train_step(self, batch: torch.Tensor, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        loss = (self.w * batch).mean()
        return {"loss": loss, "log_vars": {"loss": loss.detach()}, "num_samples": 1}


def demo_job_config(**overrides: Any) -> dict[str, Any]:
    """A whole job of the demo components (8 iterations, a checkpoint every 4), with ``overrides`` set."""
    cfg: dict[str, Any] = {
        "seed": 0,
        "model": {"type": "DemoModel", "hidden": 8},
        "data": {"samples_per_gpu": 16, "train": {"type": "DemoDataset", "num_samples": 64}},
        "optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9},
        "optimizer_config": {},
        "checkpoint_config": {"interval": 4},
        "runner": {"type": "IterBasedRunner", "max_iters": 8},
    }
    cfg.update(overrides)
    return cfg


def small_job_config(**overrides: Any) -> dict[str, Any]:
    """A two-iteration job of the demo components without checkpoints (for checks and refusals), with ``overrides`` set."""
    cfg: dict[str, Any] = {
        "model": {"type": "DemoModel", "hidden": 4},
        "data": {"samples_per_gpu": 8, "train": {"type": "DemoDataset", "num_samples": 16}},
        "optimizer": {"type": "SGD", "lr": 0.1},
        "optimizer_config": {},
        "runner": {"type": "IterBasedRunner", "max_iters": 2},
    }
    cfg.update(overrides)
    return cfg


def make_loader(n: int = 8, batch_size: int = 2, d_in: int = 4, shuffle: bool = False, seed: int = 0) -> DataLoader:
    g = torch.Generator().manual_seed(seed)
    ds = TensorDataset(torch.randn(n, d_in, generator=g), torch.randn(n, generator=g))
    return DataLoader(ds, batch_size=batch_size, shuffle=shuffle)


def kill_during_a_save(folder: Path, settle_s: float = 0.0) -> None:
    """Run ``tests/scripts/slow_save.py`` into ``folder`` and SIGKILL it while it writes its big checkpoint.

    Returns once the process is gone: a first checkpoint is complete, the second one's
    temporary file is left half-written (``settle_s`` more seconds into its write).
    """
    script = Path(__file__).parent / "scripts" / "slow_save.py"
    proc = subprocess.Popen([sys.executable, str(script), str(folder)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "first saved"
        deadline = time.monotonic() + 60
        while not list(folder.glob(".tmp-*")) and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(settle_s)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
