"""runnerkit's bare loop: ``IterBasedRunner`` with the optimizer hook alone.

No lr schedule, no timer, no logging: the floor of what the runner adds. It does less work than
the other rows, so its final weights are not compared.
"""

from __future__ import annotations

import logging

import torch
from workload import Batches, Workload

from peers.runnerkit_standard import build

TITLE = "runnerkit IterBasedRunner, optimizer hook only"
SAME_WORK = False


def run(work: Workload, net: torch.nn.Module, data: Batches, work_dir: str, log: logging.Logger) -> None:
    runner = build(work, net, work_dir, log)
    runner.register_training_hooks(lr_config=None, optimizer_config={}, timer_config=None)
    runner.run([data], [("train", 1)])
