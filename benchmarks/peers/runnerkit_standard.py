"""runnerkit's ``IterBasedRunner`` with the standard hooks.

Optimizer, step lr, iteration timer, text logger every 50 iterations (console and JSON) and a
checkpoint hook whose interval is longer than the run, registered by ``register_training_hooks``.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from workload import Batches, Workload

import runnerkit
from peers._model import StepModel

TITLE = "runnerkit IterBasedRunner, standard hooks"
SAME_WORK = True


def build(work: Workload, net: torch.nn.Sequential, work_dir: str, log: logging.Logger, **runner_args: Any) -> Any:
    model = StepModel(net)
    return runnerkit.build(
        {"type": "IterBasedRunner", "max_iters": work.iters, **runner_args},
        {"model": model, "optimizer": work.make_optimizer(model.parameters()), "work_dir": work_dir, "logger": log},
    )


def register_standard_hooks(runner: Any, work: Workload) -> None:
    runner.register_training_hooks(
        lr_config={"policy": "step", "step": [work.milestone], "gamma": work.gamma},
        optimizer_config={},
        checkpoint_config={"interval": work.iters * 10, "save_last": False},
        log_config={"interval": work.log_interval, "hooks": [{"type": "TextLoggerHook"}]},
    )


def run(work: Workload, net: torch.nn.Module, data: Batches, work_dir: str, log: logging.Logger) -> None:
    runner = build(work, net, work_dir, log)
    register_standard_hooks(runner, work)
    runner.run([data], [("train", 1)])
