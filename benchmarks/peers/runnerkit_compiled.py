"""runnerkit with the standard hooks and ``compile=True`` (the model compiled in place).

``compile=True`` compiles the model's ``__call__``, the network call of the benchmark model's
``train_step`` (``self(x)``).

Compiling adds tens of seconds to each fresh process (not to the timed window). Compiled
kernels may round differently: the table shows the largest weight difference, if any.
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
