"""A small training job used by the exact-resume tests (run in fresh processes).

usage: resume_job.py RUNNER WORK_DIR OUT_WEIGHTS [--stop-at N] [--resume CKPT] [--workers W] [--amp]
"""

from __future__ import annotations

import argparse
import contextlib
import random

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

import runnerkit


class NoisyDataset(Dataset):
    """Random augmentation in __getitem__ draws from the global RNGs (python, numpy, torch)."""

    def __init__(self) -> None:
        g = torch.Generator().manual_seed(1)
        self.x = torch.randn(44, 6, generator=g)
        self.y = torch.randn(44, generator=g)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        noise = 0.01 * torch.randn(6) + 0.001 * float(np.random.rand()) + 0.001 * random.random()
        return self.x[i] + noise, self.y[i]


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = torch.nn.Linear(6, 16)
        self.drop = torch.nn.Dropout(0.2)
        self.fc2 = torch.nn.Linear(16, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.drop(torch.relu(self.fc1(x)))).squeeze(-1)

    def train_step(self, batch, optimizer, **kwargs):
        x, y = batch
        loss = (self(x) - y).pow(2).mean()
        return {"loss": loss, "log_vars": {"loss": loss.detach()}, "num_samples": len(x)}

    def val_step(self, batch, optimizer=None, **kwargs):
        return self.train_step(batch, optimizer)


class Stop(Exception):
    pass


class StopHook(runnerkit.Hook):
    priority = "LOWEST"

    def __init__(self, at: int) -> None:
        self.at = at

    def after_train_iter(self, runner) -> None:
        if runner.iter + 1 == self.at:
            raise Stop

    def after_train_epoch(self, runner) -> None:
        if runner.epoch + 1 == self.at:
            raise Stop


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("runner")
    p.add_argument("work_dir")
    p.add_argument("out")
    p.add_argument("--stop-at", type=int)
    p.add_argument("--resume")
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--lr", action="store_true")
    args = p.parse_args()
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    loader = DataLoader(NoisyDataset(), batch_size=4, shuffle=True, num_workers=args.workers)
    val_loader = DataLoader(NoisyDataset(), batch_size=8, shuffle=True)
    iter_based = args.runner == "IterBasedRunner"
    cfg = {"type": args.runner, **({"max_iters": 40} if iter_based else {"max_epochs": 4})}
    runner = runnerkit.build(cfg, {"model": model, "optimizer": opt, "work_dir": args.work_dir})
    lr_config = dict(policy="step", step=[15, 30] if iter_based else [2, 3], warmup="linear", warmup_iters=5) if args.lr else None
    runner.register_training_hooks(
        lr_config=lr_config,
        optimizer_config=dict(grad_clip=dict(max_norm=0.5)),
        checkpoint_config=dict(interval=7 if iter_based else 1, by_epoch=not iter_based) if iter_based else dict(interval=6, by_epoch=False),
        log_config=dict(interval=5, hooks=[dict(type="TextLoggerHook")]),
    )
    if args.stop_at:
        runner.register_hook(StopHook(args.stop_at))
    if args.resume:
        runner.resume(args.resume)
    workflow = [("train", 10), ("val", 2)] if iter_based else [("train", 1), ("val", 1)]
    with contextlib.suppress(Stop):  # the "interrupted" run stops here, after its checkpoint
        runner.run([loader, val_loader], workflow)
    torch.save(model.state_dict(), args.out)


if __name__ == "__main__":
    main()
