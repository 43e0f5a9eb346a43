"""Save one checkpoint, then start a second, large one (the test kills us during it)."""

from __future__ import annotations

import sys

import torch

import runnerkit


class Big(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(3000, 3000))  # ~36 MB

    def train_step(self, *args, **kwargs):  # pragma: no cover - never trained
        raise NotImplementedError


runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": 10}, {"model": Big(), "work_dir": sys.argv[1]})
runner.loop.iter = 1
runner.save_checkpoint(sys.argv[1])
print("first saved", flush=True)
runner.loop.iter = 2
while True:  # keep saving until killed
    runner.save_checkpoint(sys.argv[1], filename_tmpl="iter_big.pth")
    print("big saved", flush=True)
