"""A one-process run with ``async_save=True`` whose first background write is slow (tests/test_fsdp.py).

usage: async_signal.py WORK_DIR. At iteration 2 a checkpoint is saved in the background; its write
takes 3 s, while training goes on. The test sends SIGTERM once the write has started (``writing``
appears in WORK_DIR's parent): the run must wait for that write, save the signal's checkpoint and
exit 143. ``weights_at_2.pth`` holds the weights the first checkpoint must contain.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import torch

import runnerkit
from runnerkit import checkpoint as ckpt_io

work = Path(sys.argv[1])
original = ckpt_io.atomic_save
writes = [0]


def slow_atomic_save(obj: Any, path: str) -> None:
    writes[0] += 1
    if writes[0] == 1:
        (work.parent / "writing").write_text(path)
        time.sleep(3)
    original(obj, path)


ckpt_io.atomic_save = slow_atomic_save  # type: ignore[assignment]


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(64, 64)

    def train_step(self, batch: Any, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        loss = self.fc(batch).pow(2).mean()
        return {"loss": loss, "log_vars": {"loss": loss.detach()}, "num_samples": len(batch)}


class Pace(runnerkit.Hook):
    """Record the weights at iteration 2; then train slowly, so that the signal lands mid-run."""

    def after_train_iter(self, runner: Any) -> None:
        if runner.iter + 1 == 2:
            torch.save({k: v.clone() for k, v in runner.model.state_dict().items()}, work.parent / "weights_at_2.pth")
        time.sleep(0.05)


torch.manual_seed(0)
model = Net()
runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": 100000},
                         {"model": model, "optimizer": torch.optim.SGD(model.parameters(), lr=0.01), "work_dir": str(work)})
runner.register_training_hooks(lr_config=None, optimizer_config={},
                               checkpoint_config={"interval": 2, "by_epoch": False, "async_save": True})
runner.register_hook(Pace(), priority="LOWEST")
runner.run([[torch.randn(8, 64) for _ in range(4)]], [("train", 1)])
