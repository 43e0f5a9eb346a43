"""mmengine's ``Runner`` with an iteration-based loop and its default hooks.

The model is a ``BaseModel`` whose ``forward(mode="loss")`` returns the loss dict (mmengine's
contract; its ``train_step`` runs the data preprocessor, parses the losses and updates the
parameters through the ``OptimWrapper``). Default hooks: runtime info, iteration timer, sampler
seed, param scheduler (``MultiStepLR`` by iteration), logger every 50 iterations with a 50-wide
window, checkpoint with an interval longer than the run. No validation.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from workload import Batches, Workload, loss_of

TITLE = "mmengine Runner"
SAME_WORK = True


class _Model(BaseModel):
    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor, y: torch.Tensor, mode: str = "loss") -> Any:
        return {"loss": loss_of(self.net, (x, y))}


def run(work: Workload, net: torch.nn.Module, data: Batches, work_dir: str, log: logging.Logger) -> None:
    runner = Runner(
        model=_Model(net),
        work_dir=work_dir,
        train_dataloader=data,
        train_cfg={"by_epoch": False, "max_iters": work.iters, "val_interval": work.iters * 10},
        optim_wrapper={"optimizer": {"type": "SGD", "lr": work.lr, "momentum": work.momentum}},
        param_scheduler={"type": "MultiStepLR", "by_epoch": False, "milestones": [work.milestone], "gamma": work.gamma},
        default_hooks={
            "logger": {"type": "LoggerHook", "interval": work.log_interval},
            "checkpoint": {"type": "CheckpointHook", "interval": work.iters * 10, "by_epoch": False, "save_last": False},
        },
        log_processor={"by_epoch": False, "window_size": work.log_interval},
        env_cfg={"cudnn_benchmark": False},
        launcher="none",
    )
    runner.train()
