"""runnerkit with the standard hooks and ``compile=True`` (the model compiled in place).

Compiling takes tens of seconds per fresh process on a CPU, so this row is run on request
(``--loops ... runnerkit-compile``) and by default on a GPU. Compiled kernels may round
differently, so final weights are compared with a tolerance, not for equality.
"""

from __future__ import annotations

import logging

import torch
from workload import Batches, Workload

from peers.runnerkit_standard import build, register_standard_hooks

TITLE = "runnerkit IterBasedRunner, standard hooks, compile=True"
SAME_WORK = True


def run(work: Workload, net: torch.nn.Module, data: Batches, work_dir: str, log: logging.Logger) -> None:
    runner = build(work, net, work_dir, log, compile=True)
    register_standard_hooks(runner, work)
    runner.run([data], [("train", 1)])
