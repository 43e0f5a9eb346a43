"""The learning rate and momentum each schedule logs (mmcv's test_hooks), read from a logger hook's tags.

The values logged through ``WandbLoggerHook`` (its client mocked, as mmcv's tests do) are compared
with the schedules' formulas evaluated here, iteration by iteration.
"""

from __future__ import annotations

import math
import sys
from typing import Any
from unittest import mock

import pytest
import torch

from tests.mmcv_parity.helpers import Model

BASE_LR, BASE_MOMENTUM, ITERS = 0.02, 0.95, 10


def logged(lr_config: Any, momentum_config: Any = None, by_epoch: bool = False) -> list[dict[str, Any]]:
    """Train 10 iterations (2 epochs of 5 when ``by_epoch``) and return what the W&B hook logged each iteration."""
    from mmcv.runner import EpochBasedRunner, IterBasedRunner

    model = Model()
    optimizer = torch.optim.SGD(model.parameters(), lr=BASE_LR, momentum=BASE_MOMENTUM)
    wandb = mock.MagicMock()
    with pytest.MonkeyPatch.context() as patch:  # restores `wandb` only: modules imported meanwhile stay
        patch.setitem(sys.modules, "wandb", wandb)
        if by_epoch:
            runner: Any = EpochBasedRunner(model=model, optimizer=optimizer, max_epochs=2)
        else:
            runner = IterBasedRunner(model=model, optimizer=optimizer, max_iters=ITERS)
        runner.register_training_hooks(
            lr_config=lr_config, momentum_config=momentum_config, optimizer_config=None,
            log_config=dict(interval=1, hooks=[dict(type="WandbLoggerHook", by_epoch=False, log_artifact=False)]),
        )
        runner.run([[torch.ones(1, 2)] * (ITERS // 2 if by_epoch else ITERS)], [("train", 1)])
    wandb.init.assert_called_once_with()
    wandb.finish.assert_called_once_with()
    calls = [c for c in wandb.log.call_args_list]
    assert [c.kwargs["step"] for c in calls] == list(range(1, ITERS + 1))
    assert all(c.kwargs["commit"] is True for c in calls)
    return [c.args[0] for c in calls]


def values(logs: list[dict[str, Any]], key: str) -> list[float]:
    return [entry[key] for entry in logs]


def test_logged_tags_are_the_mode_prefixed_values_lr_and_momentum() -> None:
    logs = logged(lr_config=None)
    assert set(logs[0]) == {"train/loss", "learning_rate", "momentum"}  # no time/data_time
    assert values(logs, "learning_rate") == [BASE_LR] * ITERS
    assert values(logs, "momentum") == pytest.approx([BASE_MOMENTUM] * ITERS)


def test_step_schedule_with_linear_warmup() -> None:
    cfg = dict(policy="step", step=[6], gamma=0.1, warmup="linear", warmup_iters=3, warmup_ratio=0.1, by_epoch=False)
    expected = []
    for i in range(ITERS):
        regular = BASE_LR * (0.1 if i >= 6 else 1.0)
        if i < 3:
            k = (1 - i / 3) * (1 - 0.1)
            regular *= 1 - k
        expected.append(regular)
    assert values(logged(cfg), "learning_rate") == pytest.approx(expected)


def test_cosine_annealing_lr_and_momentum() -> None:
    lr_cfg = dict(policy="CosineAnnealing", min_lr_ratio=0.1, by_epoch=False)
    mom_cfg = dict(policy="CosineAnnealing", min_momentum_ratio=0.5, by_epoch=False)
    logs = logged(lr_cfg, mom_cfg)

    def cos(base: float, target: float, i: int) -> float:
        return target + 0.5 * (base - target) * (1 + math.cos(math.pi * i / ITERS))

    assert values(logs, "learning_rate") == pytest.approx([cos(BASE_LR, BASE_LR * 0.1, i) for i in range(ITERS)])
    assert values(logs, "momentum") == pytest.approx([cos(BASE_MOMENTUM, BASE_MOMENTUM * 0.5, i) for i in range(ITERS)])


@pytest.mark.parametrize(
    ("cfg", "formula"),
    [
        (dict(policy="poly", power=2.0, min_lr=0.001, by_epoch=False), lambda i: (1 - i / ITERS) ** 2 * (BASE_LR - 0.001) + 0.001),
        (dict(policy="exp", gamma=0.9, by_epoch=False), lambda i: BASE_LR * 0.9**i),
        (dict(policy="inv", gamma=0.5, power=0.75, by_epoch=False), lambda i: BASE_LR * (1 + 0.5 * i) ** -0.75),
        (dict(policy="fixed"), lambda i: BASE_LR),
    ],
)
def test_iteration_schedules(cfg: dict[str, Any], formula: Any) -> None:
    assert values(logged(cfg), "learning_rate") == pytest.approx([formula(i) for i in range(ITERS)])


def test_epoch_schedules_change_at_epoch_starts() -> None:
    logs = logged(dict(policy="step", step=[1], gamma=0.5), by_epoch=True)
    assert values(logs, "learning_rate") == pytest.approx([BASE_LR] * 5 + [BASE_LR * 0.5] * 5)


def test_momentum_tags_cover_adam_betas_and_dicts_of_optimizers() -> None:
    from mmcv.runner import IterBasedRunner, LoggerHook

    model = Model()
    optimizers = {"a": torch.optim.Adam(model.parameters(), lr=0.1, betas=(0.8, 0.99)),
                  "b": torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.7)}
    runner = IterBasedRunner(model=model, optimizer=optimizers, max_iters=1)
    tags = LoggerHook().get_loggable_tags(runner)
    assert tags == {"learning_rate/a": 0.1, "learning_rate/b": 0.2,
                    "momentum/a": pytest.approx(0.8), "momentum/b": pytest.approx(0.7)}
