"""The momentum schedule hooks follow mmcv 1.x's formulas, timing, warm-ups and config shapes."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
import torch

import runnerkit
from runnerkit.hooks.hook import Hook
from runnerkit.hooks.momentum_updater import (
    CosineAnnealingMomentumUpdaterHook,
    CyclicMomentumUpdaterHook,
    LinearAnnealingMomentumUpdaterHook,
    MomentumUpdaterHook,
    OneCycleMomentumUpdaterHook,
    StepMomentumUpdaterHook,
)
from tests import schedule_helpers
from tests.schedule_helpers import MOM, Net, cos_anneal, epoch_runner, expect, iter_runner, momenta

MOMENTUM_HOOKS = [
    "StepMomentumUpdaterHook", "CosineAnnealingMomentumUpdaterHook", "CyclicMomentumUpdaterHook",
    "OneCycleMomentumUpdaterHook", "LinearAnnealingMomentumUpdaterHook",
]


def drive_iters(runner: runnerkit.BaseRunner, *hooks: Hook, start: int = 0) -> list[Any]:
    return schedule_helpers.drive_iters(runner, *hooks, start=start, read=momenta)


def drive_epochs(runner: runnerkit.BaseRunner, hook: Hook) -> list[Any]:
    return schedule_helpers.drive_epochs(runner, hook, read=momenta)


@pytest.mark.parametrize("name", MOMENTUM_HOOKS)
def test_every_momentum_hook_is_found_by_name_through_the_container(name: str) -> None:
    cls = runnerkit.default_container().get("hook", name)
    assert cls.__name__ == name
    assert cls.__module__ == "runnerkit.hooks.momentum_updater"
    assert issubclass(cls, MomentumUpdaterHook)


# -- formulas -------------------------------------------------------------------------------------


def test_step_decays_the_momentum_per_epoch_and_is_floored() -> None:
    runner = epoch_runner(max_epochs=5, epoch_length=2)
    hook = StepMomentumUpdaterHook(step=[1, 3], gamma=0.5, min_momentum=0.3)
    expect(drive_epochs(runner, hook), lambda i: max(MOM * 0.5 ** sum(i // 2 >= s for s in (1, 3)), 0.3))
    assert runner.optimizer.param_groups[0]["initial_momentum"] == MOM


def test_step_schedules_adams_beta1_and_keeps_beta2() -> None:
    runner = iter_runner(6, lambda net: torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.8, 0.99)))
    seen = drive_iters(runner, StepMomentumUpdaterHook(step=2, gamma=0.5, by_epoch=False))
    expect(seen, lambda i: 0.8 * 0.5 ** (i // 2))
    assert runner.optimizer.param_groups[0]["betas"][1] == 0.99


@pytest.mark.parametrize(
    ("warmup", "during"),
    [
        ("constant", lambda i: MOM / 0.8),
        ("linear", lambda i: MOM / (1 - (1 - i / 4) * (1 - 0.8))),
        ("exp", lambda i: MOM / 0.8 ** (1 - i / 4)),
    ],
)
def test_momentum_warmup_divides_the_regular_momentum(warmup: str, during: Callable[[int], float]) -> None:
    runner = iter_runner(8)
    hook = StepMomentumUpdaterHook(step=100, by_epoch=False, warmup=warmup, warmup_iters=4, warmup_ratio=0.8)
    expect(drive_iters(runner, hook), lambda i: during(i) if i < 4 else MOM)


def test_momentum_warmup_ratio_defaults_to_mmcvs_0_9() -> None:
    assert StepMomentumUpdaterHook(step=1, warmup="constant", warmup_iters=1).warmup_ratio == 0.9


@pytest.mark.parametrize(("kwargs", "target"), [({"min_momentum": 0.5}, 0.5), ({"min_momentum_ratio": 0.5}, MOM * 0.5)])
def test_cosine_annealing_momentum_reaches_its_target(kwargs: dict[str, float], target: float) -> None:
    runner = iter_runner(12)
    expect(drive_iters(runner, CosineAnnealingMomentumUpdaterHook(by_epoch=False, **kwargs)),
           lambda i: cos_anneal(MOM, target, i / 12))


def test_linear_annealing_momentum_by_epoch() -> None:
    runner = epoch_runner(max_epochs=4, epoch_length=3)
    expect(drive_epochs(runner, LinearAnnealingMomentumUpdaterHook(min_momentum=0.5)),
           lambda i: MOM + (0.5 - MOM) * (i // 3) / 4)


def test_cyclic_momentum_falls_then_returns_with_mmcvs_default_ratios() -> None:
    runner = iter_runner(20)
    low = 0.85 / 0.95
    expect(drive_iters(runner, CyclicMomentumUpdaterHook()),
           lambda i: cos_anneal(MOM, MOM * low, i / 8) if i < 8 else cos_anneal(MOM * low, MOM, (i - 8) / 12))


def test_cyclic_momentum_with_gamma_and_linear_annealing() -> None:
    runner = iter_runner(20)
    hook = CyclicMomentumUpdaterHook(target_ratio=(0.5, 1.0), cyclic_times=2, step_ratio_up=0.5, gamma=0.5,
                                     anneal_strategy="linear")

    def formula(i: int) -> float:
        cycle, cur = divmod(i, 10)
        low = 1 - 0.5**cycle + 0.5 * 0.5**cycle
        if cur < 5:
            return MOM + (MOM * low - MOM) * cur / 5
        return MOM * low + (MOM - MOM * low) * (cur - 5) / 5

    expect(drive_iters(runner, hook), formula)


def one_cycle(i: int, low: float, high: float, total: int, pct: float, three_phase: bool) -> float:
    down = pct * total - 1
    if i <= down:
        return cos_anneal(high, low, i / down)
    if not three_phase:
        return cos_anneal(low, high, (i - down) / (total - 1 - down))
    up = 2 * pct * total - 2
    if i <= up:
        return cos_anneal(low, high, (i - down) / (up - down))
    return high


@pytest.mark.parametrize("three_phase", [False, True])
def test_one_cycle_momentum_mirrors_the_lr_cycle(three_phase: bool) -> None:
    runner = iter_runner(20)
    seen = drive_iters(runner, OneCycleMomentumUpdaterHook(pct_start=0.25, three_phase=three_phase))
    expect(seen, lambda i: one_cycle(i, 0.85, 0.95, 20, 0.25, three_phase))
    group = runner.optimizer.param_groups[0]
    assert (group["base_momentum"], group["max_momentum"]) == (0.85, 0.95)


def test_one_cycle_momentum_sets_max_momentum_before_the_run() -> None:
    runner = iter_runner(10)
    runner.register_hook(OneCycleMomentumUpdaterHook(max_momentum=0.97))
    runner.call_hook("before_run")
    assert momenta(runner) == [0.97]


def test_one_cycle_momentum_per_optimizer_with_adam_betas() -> None:
    def optimizers(net: Net) -> dict[str, torch.optim.Optimizer]:
        return {"sgd": torch.optim.SGD(net.a.parameters(), lr=0.1, momentum=0.9),
                "adam": torch.optim.Adam(net.b.parameters(), lr=1e-3, betas=(0.9, 0.999))}

    runner = iter_runner(20, optimizers)
    hook = OneCycleMomentumUpdaterHook(base_momentum={"sgd": 0.8, "adam": [0.7]}, max_momentum=0.95,
                                       anneal_strategy="linear", pct_start=0.5)
    seen = drive_iters(runner, hook)

    def linear(i: int, low: float) -> float:
        return 0.95 + (low - 0.95) * i / 9 if i <= 9 else low + (0.95 - low) * (i - 9) / 10

    for i, values in enumerate(seen):
        assert values == {"sgd": [pytest.approx(linear(i, 0.8))], "adam": [pytest.approx(linear(i, 0.7))]}
    assert runner.optimizer["adam"].param_groups[0]["betas"][1] == 0.999


# -- resuming and host reads ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "make_hook",
    [
        lambda: CosineAnnealingMomentumUpdaterHook(min_momentum=0.5, by_epoch=False, warmup="exp", warmup_iters=6),
        lambda: OneCycleMomentumUpdaterHook(three_phase=True),
    ],
    ids=["cosine-warmup", "one-cycle"],
)
def test_a_resumed_run_continues_the_same_momentum_schedule(make_hook: Callable[[], Hook]) -> None:
    full = drive_iters(iter_runner(20), make_hook())
    first = iter_runner(20)
    first.register_hook(make_hook())
    first.call_hook("before_run")
    for i in range(7):
        first.loop.iter = i
        first.call_hook("before_train_iter")
    buffer = io.BytesIO()
    torch.save(first.optimizer.state_dict(), buffer)
    buffer.seek(0)
    second = iter_runner(20, lambda net: torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.3))
    second.optimizer.load_state_dict(torch.load(buffer, weights_only=True))
    assert drive_iters(second, make_hook(), start=7) == full[7:]


def test_a_tensor_beta1_is_filled_in_place_without_reading_it_back(monkeypatch: pytest.MonkeyPatch) -> None:
    beta1 = torch.tensor(0.9)
    runner = iter_runner(4, lambda net: torch.optim.Adam(net.parameters(), lr=1e-3, betas=(beta1, torch.tensor(0.999))))
    runner.register_hook(StepMomentumUpdaterHook(step=1, gamma=0.5, by_epoch=False))
    runner.call_hook("before_run")  # the one place a tensor value is read
    reads: list[str] = []
    for name in ("item", "__float__", "tolist", "cpu", "__bool__"):
        original = getattr(torch.Tensor, name)
        monkeypatch.setattr(torch.Tensor, name, lambda self, *a, _n=name, _o=original, **k: reads.append(_n) or _o(self, *a, **k))
    for i in range(4):
        runner.loop.iter = i
        runner.call_hook("before_train_iter")
    monkeypatch.undo()
    assert reads == []
    assert runner.optimizer.param_groups[0]["betas"][0] is beta1
    assert beta1.item() == pytest.approx(0.9 * 0.5**3)


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: StepMomentumUpdaterHook(step=0), ValueError, r"got step=0; the step must be positive"),
        (lambda: StepMomentumUpdaterHook(step=2, warmup="warm", warmup_iters=2), ValueError,
         r"for StepMomentumUpdaterHook\nwarmup\n  Input should be 'constant', 'linear' or 'exp' \(got `'warm'`\)"),
        (lambda: StepMomentumUpdaterHook(step=2, warmup="linear", warmup_iters=2, warmup_ratio=0.0), ValueError,
         r"warmup_ratio\n  Input should be greater than 0 \(got `0.0`\)"),
        (lambda: CosineAnnealingMomentumUpdaterHook(min_momentum=0.8, min_momentum_ratio=0.9), ValueError,
         r"needs exactly one of `min_momentum` \(the final value\) and `min_momentum_ratio`.*keep only one of them"),
        (lambda: LinearAnnealingMomentumUpdaterHook(), ValueError, r"give one of them"),
        (lambda: CyclicMomentumUpdaterHook(by_epoch=True), ValueError, r"supports only by_epoch=False"),
        (lambda: CyclicMomentumUpdaterHook(anneal_strategy="tri"), ValueError, r"got anneal_strategy='tri'"),
        (lambda: OneCycleMomentumUpdaterHook(base_momentum="0.85"), TypeError,
         r"got base_momentum='0.85' \(str\); expected a number, a list"),
        (lambda: OneCycleMomentumUpdaterHook(pct_start=-0.1), ValueError, r"got pct_start=-0.1; expected a number in \[0, 1\]"),
        (lambda: OneCycleMomentumUpdaterHook(by_epoch=True), ValueError, r"supports only by_epoch=False"),
    ],
)
def test_bad_momentum_arguments_are_refused_with_a_clear_message(
    build: Callable[[], Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        build()


def test_an_optimizer_without_momentum_is_refused_in_before_run() -> None:
    runner = iter_runner(5, lambda net: torch.optim.Adagrad(net.parameters(), lr=0.1))
    with pytest.raises(ValueError, match=r"a param group has neither `momentum` \(SGD, RMSprop\) nor `betas`"):
        drive_iters(runner, StepMomentumUpdaterHook(step=2))


def test_one_cycle_momentum_refuses_an_optimizer_without_momentum() -> None:
    runner = iter_runner(5, lambda net: torch.optim.Adagrad(net.parameters(), lr=0.1))
    with pytest.raises(ValueError, match=r"optimizer `Adagrad` \(Adagrad\) has neither `momentum` nor `betas`"):
        drive_iters(runner, OneCycleMomentumUpdaterHook())


def test_an_mmcv_style_momentum_subclass_uses_get_momentum_and_mmcv_names() -> None:
    class FixedMomentumUpdaterHook(MomentumUpdaterHook):
        def get_momentum(self, runner: Any, base_momentum: float) -> float:
            return base_momentum

    runner = iter_runner(3)
    hook = FixedMomentumUpdaterHook(by_epoch=False, warmup="constant", warmup_iters=1)
    expect(drive_iters(runner, hook), lambda i: MOM / 0.9 if i < 1 else MOM)
    assert hook.base_momentum == [MOM]
    assert hook.regular_momentum == [MOM]
    assert hook.get_warmup_momentum(0) == [pytest.approx(MOM / 0.9)]
