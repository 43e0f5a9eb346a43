"""A real runner driven stage by stage, shared by the lr and momentum schedule tests."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import torch

import runnerkit
from runnerkit.hooks.hook import Hook

#: the lr and momentum the default optimizer starts from.
BASE = 0.1
MOM = 0.9


class Net(torch.nn.Module):
    """Two linear layers (two param groups are possible) with mmcv's ``train_step``."""

    def __init__(self) -> None:
        super().__init__()
        self.a = torch.nn.Linear(2, 2)
        self.b = torch.nn.Linear(2, 1)

    def train_step(self, data: torch.Tensor, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        loss = self.b(self.a(data)).pow(2).mean()
        return {"loss": loss, "log_vars": {"loss": loss.detach()}, "num_samples": len(data)}


def sgd(net: Net, lr: float = BASE, second_lr: float | None = None) -> torch.optim.SGD:
    """SGD with momentum ``MOM``; with ``second_lr``, layer ``b`` is a second param group."""
    if second_lr is None:
        return torch.optim.SGD(net.parameters(), lr=lr, momentum=MOM)
    return torch.optim.SGD([{"params": net.a.parameters()}, {"params": net.b.parameters(), "lr": second_lr}],
                           lr=lr, momentum=MOM)


def _optimizer(net: Net, optimizer: Any) -> Any:
    """None: :func:`sgd`; a function of the net: its result; anything else as given."""
    if optimizer is None:
        return sgd(net)
    if callable(optimizer) and not isinstance(optimizer, (torch.optim.Optimizer, dict)):
        return optimizer(net)
    return optimizer


def iter_runner(max_iters: int, optimizer: Any = None, net: Net | None = None) -> runnerkit.IterBasedRunner:
    net = net or Net()
    return runnerkit.IterBasedRunner(model=net, optimizer=_optimizer(net, optimizer), max_iters=max_iters)


def epoch_runner(max_epochs: int, epoch_length: int, optimizer: Any = None) -> runnerkit.EpochBasedRunner:
    net = Net()
    runner = runnerkit.EpochBasedRunner(model=net, optimizer=_optimizer(net, optimizer), max_epochs=max_epochs)
    runner.epoch_length = epoch_length
    runner.loop.max_iters = max_epochs * epoch_length  # as EpochBasedRunner.run does
    return runner


def lrs(runner: runnerkit.BaseRunner) -> Any:
    """Every param group's lr, read straight from the optimizer(s)."""
    if isinstance(runner.optimizer, dict):
        return {k: [g["lr"] for g in o.param_groups] for k, o in runner.optimizer.items()}
    return [g["lr"] for g in runner.optimizer.param_groups]


def momenta(runner: runnerkit.BaseRunner) -> Any:
    """Every param group's momentum (or beta1), read straight from the optimizer(s)."""

    def of(opt: torch.optim.Optimizer) -> list[float]:
        return [g["momentum"] if "momentum" in g else g["betas"][0] for g in opt.param_groups]

    if isinstance(runner.optimizer, dict):
        return {k: of(o) for k, o in runner.optimizer.items()}
    return of(runner.optimizer)


def drive_iters(runner: runnerkit.BaseRunner, *hooks: Hook, start: int = 0,
                read: Callable[[runnerkit.BaseRunner], Any] = lrs) -> list[Any]:
    """before_run, then before_train_iter for iterations start..max_iters-1; what ``read`` sees at each."""
    for hook in hooks:
        runner.register_hook(hook)
    runner.call_hook("before_run")
    runner.loop.iter = start
    runner.call_hook("before_train_epoch")
    seen = []
    for i in range(start, runner.max_iters or 0):
        runner.loop.iter = i
        runner.call_hook("before_train_iter")
        seen.append(read(runner))
    return seen


def drive_epochs(runner: runnerkit.BaseRunner, hook: Hook,
                 read: Callable[[runnerkit.BaseRunner], Any] = lrs) -> list[Any]:
    """before_run, then every epoch's before_train_epoch and iterations' before_train_iter."""
    runner.register_hook(hook)
    runner.call_hook("before_run")
    seen = []
    length = runner.epoch_length
    for epoch in range(runner.max_epochs or 0):
        runner.loop.epoch, runner.loop.iter = epoch, epoch * length
        runner.call_hook("before_train_epoch")
        for inner in range(length):
            runner.loop.inner_iter, runner.loop.iter = inner, epoch * length + inner
            runner.call_hook("before_train_iter")
            seen.append(read(runner))
    return seen


def expect(seen: list[Any], formula: Callable[[int], float]) -> None:
    """Every iteration's first value equals the closed-form formula."""
    assert [s[0] for s in seen] == pytest.approx([formula(i) for i in range(len(seen))], rel=1e-12, abs=1e-15)


def cos_anneal(start: float, end: float, t: float, weight: float = 1.0) -> float:
    return end + 0.5 * weight * (start - end) * (1 + math.cos(math.pi * t))
