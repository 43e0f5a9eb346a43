"""The lr schedule hooks follow mmcv 1.x's formulas, timing, warm-ups and config shapes."""

from __future__ import annotations

import copy
import io
from collections.abc import Callable
from typing import Any

import pytest
import torch

import runnerkit
from runnerkit.hooks.hook import Priority
from runnerkit.hooks.lr_updater import (
    CosineAnnealingLrUpdaterHook,
    CosineRestartLrUpdaterHook,
    CyclicLrUpdaterHook,
    ExpLrUpdaterHook,
    FixedLrUpdaterHook,
    FlatCosineAnnealingLrUpdaterHook,
    InvLrUpdaterHook,
    LinearAnnealingLrUpdaterHook,
    LrUpdaterHook,
    OneCycleLrUpdaterHook,
    PolyLrUpdaterHook,
    StepLrUpdaterHook,
)
from tests.schedule_helpers import (
    BASE,
    Net,
    cos_anneal,
    drive_epochs,
    drive_iters,
    epoch_runner,
    expect,
    iter_runner,
    lrs,
    sgd,
)

LR_HOOKS = [
    "FixedLrUpdaterHook", "StepLrUpdaterHook", "ExpLrUpdaterHook", "PolyLrUpdaterHook", "InvLrUpdaterHook",
    "CosineAnnealingLrUpdaterHook", "FlatCosineAnnealingLrUpdaterHook", "CosineRestartLrUpdaterHook",
    "CyclicLrUpdaterHook", "OneCycleLrUpdaterHook", "LinearAnnealingLrUpdaterHook",
]
# -- discovery and priorities ---------------------------------------------------------------------


@pytest.mark.parametrize("name", LR_HOOKS)
def test_every_lr_hook_is_found_by_name_through_the_container(name: str) -> None:
    cls = runnerkit.default_container().get("hook", name)
    assert cls.__name__ == name
    assert cls.__module__ == "runnerkit.hooks.lr_updater"
    assert issubclass(cls, LrUpdaterHook)


def test_lr_hooks_register_at_very_high_priority_by_default() -> None:
    runner = iter_runner(10)
    runner.register_hook_from_cfg({"type": "StepLrUpdaterHook", "step": 5, "by_epoch": False})
    (hook,) = runner.hooks
    assert isinstance(hook, StepLrUpdaterHook)
    assert hook.priority == Priority.VERY_HIGH


# -- each policy against its formula --------------------------------------------------------------


def test_fixed_keeps_the_initial_lr_and_records_it_in_the_param_group() -> None:
    runner = iter_runner(6)
    seen = drive_iters(runner, FixedLrUpdaterHook(by_epoch=False))
    expect(seen, lambda i: BASE)
    assert runner.optimizer.param_groups[0]["initial_lr"] == BASE


@pytest.mark.parametrize(
    ("warmup", "during"),
    [
        ("constant", lambda i: BASE * 0.2),
        ("linear", lambda i: BASE * (1 - (1 - i / 5) * (1 - 0.2))),
        ("exp", lambda i: BASE * 0.2 ** (1 - i / 5)),
    ],
)
def test_each_warmup_scales_the_regular_lr_for_warmup_iters_iterations(warmup: str, during: Callable[[int], float]) -> None:
    runner = iter_runner(12)
    hook = FixedLrUpdaterHook(by_epoch=False, warmup=warmup, warmup_iters=5, warmup_ratio=0.2)
    expect(drive_iters(runner, hook), lambda i: during(i) if i < 5 else BASE)


def test_warmup_multiplies_the_scheduled_lr_not_the_base_lr() -> None:
    runner = iter_runner(10)
    hook = ExpLrUpdaterHook(gamma=0.9, by_epoch=False, warmup="linear", warmup_iters=4, warmup_ratio=0.5)
    expect(drive_iters(runner, hook),
           lambda i: BASE * 0.9**i * (1 - (1 - i / 4) * 0.5 if i < 4 else 1))


@pytest.mark.parametrize(
    ("step", "exponent"),
    [(3, lambda i: i // 3), ([2, 5, 6], lambda i: sum(i >= s for s in (2, 5, 6)))],
)
def test_step_decays_by_gamma_at_each_step_per_iteration(step: Any, exponent: Callable[[int], int]) -> None:
    runner = iter_runner(10)
    expect(drive_iters(runner, StepLrUpdaterHook(step=step, gamma=0.5, by_epoch=False)),
           lambda i: BASE * 0.5 ** exponent(i))


def test_step_is_floored_at_min_lr() -> None:
    runner = iter_runner(12)
    hook = StepLrUpdaterHook(step=2, gamma=0.1, min_lr=2e-4, by_epoch=False)
    expect(drive_iters(runner, hook), lambda i: max(BASE * 0.1 ** (i // 2), 2e-4))


def test_step_by_epoch_with_linear_warmup_follows_mmcv_timing() -> None:
    # lr_config=dict(policy="step", step=[2, 3], warmup="linear", warmup_iters=5, warmup_ratio=0.1)
    runner = epoch_runner(max_epochs=4, epoch_length=4)
    seen = drive_epochs(runner, StepLrUpdaterHook(step=[2, 3], warmup="linear", warmup_iters=5, warmup_ratio=0.1))

    def formula(i: int) -> float:
        epoch = i // 4
        regular = BASE * 0.1 ** sum(epoch >= s for s in (2, 3))
        return regular * (1 - (1 - i / 5) * 0.9) if i < 5 else regular

    expect(seen, formula)


def test_warmup_by_epoch_counts_warmup_iters_in_epochs_of_the_loader() -> None:
    runner = epoch_runner(max_epochs=3, epoch_length=4)
    runner.data_loader = [[0.0]] * 4  # mmcv reads len(runner.data_loader)
    hook = FixedLrUpdaterHook(warmup="exp", warmup_iters=2, warmup_ratio=0.01, warmup_by_epoch=True)
    seen = drive_epochs(runner, hook)
    assert hook.warmup_iters == 8
    expect(seen, lambda i: BASE * 0.01 ** (1 - i / 8) if i < 8 else BASE)


def test_warmup_by_epoch_works_per_iteration_without_an_epoch_hook_call() -> None:
    # mmcv only resolves warmup_iters in before_train_epoch; an iteration-based run may not call it first.
    runner = iter_runner(8)
    runner.epoch_length = 2
    hook = FixedLrUpdaterHook(by_epoch=False, warmup="constant", warmup_iters=2, warmup_ratio=0.5, warmup_by_epoch=True)
    runner.register_hook(hook)
    runner.call_hook("before_run")
    seen = []
    for i in range(8):
        runner.loop.iter = i
        runner.call_hook("before_train_iter")
        seen.append(lrs(runner))
    expect(seen, lambda i: BASE * 0.5 if i < 4 else BASE)


def test_exp_multiplies_by_gamma_each_epoch() -> None:
    runner = epoch_runner(max_epochs=4, epoch_length=2)
    expect(drive_epochs(runner, ExpLrUpdaterHook(gamma=0.8)), lambda i: BASE * 0.8 ** (i // 2))


def test_poly_anneals_to_min_lr_with_power() -> None:
    runner = iter_runner(20)
    hook = PolyLrUpdaterHook(power=2.0, min_lr=0.01, by_epoch=False)
    expect(drive_iters(runner, hook), lambda i: (BASE - 0.01) * (1 - i / 20) ** 2 + 0.01)


def test_inv_decays_as_one_plus_gamma_progress_to_minus_power() -> None:
    runner = iter_runner(15)
    hook = InvLrUpdaterHook(gamma=0.1, power=0.75, by_epoch=False)
    expect(drive_iters(runner, hook), lambda i: BASE * (1 + 0.1 * i) ** -0.75)


@pytest.mark.parametrize(("kwargs", "target"), [({"min_lr": 1e-3}, 1e-3), ({"min_lr_ratio": 0.05}, BASE * 0.05)])
def test_cosine_annealing_reaches_min_lr_or_min_lr_ratio(kwargs: dict[str, float], target: float) -> None:
    runner = iter_runner(20)
    hook = CosineAnnealingLrUpdaterHook(by_epoch=False, **kwargs)
    expect(drive_iters(runner, hook), lambda i: cos_anneal(BASE, target, i / 20))


def test_cosine_annealing_by_epoch_changes_once_per_epoch() -> None:
    runner = epoch_runner(max_epochs=5, epoch_length=3)
    expect(drive_epochs(runner, CosineAnnealingLrUpdaterHook(min_lr=0.0)), lambda i: cos_anneal(BASE, 0.0, (i // 3) / 5))


def test_flat_cosine_keeps_the_base_lr_until_start_percent() -> None:
    runner = iter_runner(20)
    hook = FlatCosineAnnealingLrUpdaterHook(start_percent=0.55, min_lr_ratio=0.1, by_epoch=False)
    start = round(20 * 0.55)
    expect(drive_iters(runner, hook),
           lambda i: BASE if i < start else cos_anneal(BASE, BASE * 0.1, (i - start) / (20 - start)))


def test_cosine_restart_restarts_each_period_with_its_weight() -> None:
    runner = iter_runner(20)
    hook = CosineRestartLrUpdaterHook(periods=[5, 15], restart_weights=[1, 0.5], min_lr=1e-3, by_epoch=False)

    def formula(i: int) -> float:
        restart, period, weight = (0, 5, 1.0) if i < 5 else (5, 15, 0.5)
        return cos_anneal(BASE, 1e-3, (i - restart) / period, weight)

    expect(drive_iters(runner, hook), formula)


def test_cosine_restart_fails_clearly_past_its_periods() -> None:
    runner = iter_runner(10)
    hook = CosineRestartLrUpdaterHook(periods=[4, 4], min_lr=0.0, by_epoch=False)
    with pytest.raises(ValueError, match=r"reached progress 8, past the end of its periods \(cumulative \[4, 8\]\)"):
        drive_iters(runner, hook)


def test_cyclic_rises_to_the_peak_and_anneals_to_the_final_ratio() -> None:
    runner = iter_runner(20)
    hook = CyclicLrUpdaterHook(target_ratio=(10, 1e-4), cyclic_times=1, step_ratio_up=0.4)
    expect(drive_iters(runner, hook),
           lambda i: cos_anneal(BASE, BASE * 10, i / 8) if i < 8 else cos_anneal(BASE * 10, BASE * 1e-4, (i - 8) / 12))


def test_cyclic_with_gamma_shrinks_each_cycle_and_can_anneal_linearly() -> None:
    runner = iter_runner(20)
    hook = CyclicLrUpdaterHook(target_ratio=(5, 0.1), cyclic_times=2, step_ratio_up=0.4, gamma=0.5,
                               anneal_strategy="linear")

    def formula(i: int) -> float:
        cycle, cur = divmod(i, 10)
        peak = 1 - 0.5**cycle + 5 * 0.5**cycle
        if cur < 4:
            return BASE + (BASE * peak - BASE) * cur / 4
        return BASE * peak + (BASE * 0.1 - BASE * peak) * (cur - 4) / 6

    expect(drive_iters(runner, hook), formula)


def test_cyclic_accepts_a_single_ratio_as_mmcv() -> None:
    assert CyclicLrUpdaterHook(target_ratio=20.0).target_ratio == (20.0, 20.0 / 1e5)
    assert CyclicLrUpdaterHook(target_ratio=(20.0,)).target_ratio == (20.0, 20.0 / 1e5)


def test_cyclic_in_an_epoch_based_run_uses_max_iters_of_all_epochs() -> None:
    runner = epoch_runner(max_epochs=2, epoch_length=5)
    seen = drive_epochs(runner, CyclicLrUpdaterHook(target_ratio=(10, 1e-4), step_ratio_up=0.5))
    expect(seen, lambda i: cos_anneal(BASE, BASE * 10, i / 5) if i < 5 else cos_anneal(BASE * 10, BASE * 1e-4, (i - 5) / 5))


def one_cycle(i: int, max_lr: float, total: int, pct: float, three_phase: bool) -> float:
    base = max_lr / 25
    up = pct * total - 1
    if i <= up:
        return cos_anneal(base, max_lr, i / up)
    if not three_phase:
        return cos_anneal(max_lr, base / 1e4, (i - up) / (total - 1 - up))
    down = 2 * pct * total - 2
    if i <= down:
        return cos_anneal(max_lr, base, (i - up) / (down - up))
    return cos_anneal(base, base / 1e4, (i - down) / (total - 1 - down))


@pytest.mark.parametrize("three_phase", [False, True])
def test_one_cycle_follows_its_phases(three_phase: bool) -> None:
    runner = iter_runner(20)
    hook = OneCycleLrUpdaterHook(max_lr=1.0, pct_start=0.25, three_phase=three_phase)
    seen = drive_iters(runner, hook)
    expect(seen, lambda i: one_cycle(i, 1.0, 20, 0.25, three_phase))
    assert seen[0][0] == pytest.approx(1.0 / 25)
    assert runner.optimizer.param_groups[0]["initial_lr"] == pytest.approx(1.0 / 25)


def test_one_cycle_uses_total_steps_when_longer_than_training() -> None:
    runner = iter_runner(10)
    hook = OneCycleLrUpdaterHook(max_lr=0.5, total_steps=40, pct_start=0.5, anneal_strategy="linear")

    def formula(i: int) -> float:
        return 0.5 / 25 + (0.5 - 0.5 / 25) * i / 19

    expect(drive_iters(runner, hook), formula)


def test_one_cycle_takes_max_lr_per_group_and_per_optimizer() -> None:
    net_a, net_b = Net(), Net()
    optimizers = {"gen": sgd(net_a, second_lr=0.3), "disc": torch.optim.Adam(net_b.parameters(), lr=1e-3)}
    runner = iter_runner(20, optimizer=optimizers, net=net_a)
    seen = drive_iters(runner, OneCycleLrUpdaterHook(max_lr={"gen": [1.0, 2.0], "disc": 0.5}, pct_start=0.25))
    for i, values in enumerate(seen):
        assert values["gen"] == pytest.approx([one_cycle(i, 1.0, 20, 0.25, False), one_cycle(i, 2.0, 20, 0.25, False)])
        assert values["disc"] == pytest.approx([one_cycle(i, 0.5, 20, 0.25, False)])


def test_linear_annealing_goes_straight_to_the_target() -> None:
    runner = epoch_runner(max_epochs=4, epoch_length=2)
    expect(drive_epochs(runner, LinearAnnealingLrUpdaterHook(min_lr_ratio=0.2)),
           lambda i: BASE + (BASE * 0.2 - BASE) * (i // 2) / 4)


# -- several groups and optimizers ----------------------------------------------------------------


def test_each_param_group_anneals_from_its_own_initial_lr() -> None:
    net = Net()
    runner = iter_runner(10, optimizer=sgd(net, lr=0.1, second_lr=0.4), net=net)
    seen = drive_iters(runner, CosineAnnealingLrUpdaterHook(min_lr_ratio=0.0, by_epoch=False))
    assert seen == [pytest.approx([cos_anneal(0.1, 0.0, i / 10), cos_anneal(0.4, 0.0, i / 10)]) for i in range(10)]


def test_a_dict_of_optimizers_is_scheduled_optimizer_by_optimizer() -> None:
    net = Net()
    optimizers = {"a": torch.optim.SGD(net.a.parameters(), lr=0.1), "b": torch.optim.Adam(net.b.parameters(), lr=0.01)}
    runner = iter_runner(8, optimizer=optimizers, net=net)
    hook = StepLrUpdaterHook(step=[3], by_epoch=False, warmup="constant", warmup_iters=2, warmup_ratio=0.5)
    seen = drive_iters(runner, hook)
    for i, values in enumerate(seen):
        factor = (0.5 if i < 2 else 1.0) * (0.1 if i >= 3 else 1.0)
        assert values == {"a": [pytest.approx(0.1 * factor)], "b": [pytest.approx(0.01 * factor)]}
    assert hook.base_lr == {"a": [0.1], "b": [0.01]}


# -- resuming -------------------------------------------------------------------------------------


def resumed(make_hook: Callable[[], LrUpdaterHook], max_iters: int, stop: int) -> tuple[list[Any], list[Any]]:
    """The lrs of an uninterrupted run, and those of a run stopped at ``stop`` and resumed in a new runner."""
    full = drive_iters(iter_runner(max_iters), make_hook())
    first = iter_runner(max_iters)
    first.register_hook(make_hook())
    first.call_hook("before_run")
    for i in range(stop):
        first.loop.iter = i
        first.call_hook("before_train_iter")
    buffer = io.BytesIO()
    torch.save(first.optimizer.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    net = Net()
    second = iter_runner(max_iters, optimizer=sgd(net, lr=0.7), net=net)  # a different lr: the checkpoint wins
    second.optimizer.load_state_dict(state)
    return full[stop:], drive_iters(second, make_hook(), start=stop)


@pytest.mark.parametrize(
    "make_hook",
    [
        lambda: CosineAnnealingLrUpdaterHook(min_lr=0.0, by_epoch=False, warmup="linear", warmup_iters=6),
        lambda: CyclicLrUpdaterHook(cyclic_times=2, gamma=0.8),
        lambda: OneCycleLrUpdaterHook(max_lr=0.3, three_phase=True),
    ],
    ids=["cosine-warmup", "cyclic", "one-cycle"],
)
def test_a_resumed_run_continues_the_same_schedule(make_hook: Callable[[], LrUpdaterHook]) -> None:
    expected, got = resumed(make_hook, max_iters=20, stop=4)
    assert got == expected


@pytest.mark.parametrize("calls_epoch_hook", [True, False])
def test_resuming_mid_epoch_during_warmup_continues_exactly(calls_epoch_hook: bool) -> None:
    def make_hook() -> LrUpdaterHook:
        return StepLrUpdaterHook(step=[1, 2], warmup="linear", warmup_iters=6, warmup_ratio=0.1)

    full = drive_epochs(epoch_runner(3, 4), make_hook())
    first = epoch_runner(3, 4)
    first.register_hook(make_hook())
    first.call_hook("before_run")
    for i in range(5):  # stop after iteration 4, the first of epoch 1
        first.loop.epoch, first.loop.iter = i // 4, i
        if i % 4 == 0:
            first.call_hook("before_train_epoch")
        first.call_hook("before_train_iter")
    state = copy.deepcopy(first.optimizer.state_dict())

    second = epoch_runner(3, 4)
    second.optimizer.load_state_dict(state)
    second.register_hook(make_hook())
    second.loop.epoch, second.loop.iter = 1, 5
    second.call_hook("before_run")
    if calls_epoch_hook:
        second.call_hook("before_train_epoch")
    seen = []
    for i in range(5, 12):
        second.loop.epoch, second.loop.iter = i // 4, i
        if i % 4 == 0:
            second.call_hook("before_train_epoch")
        second.call_hook("before_train_iter")
        seen.append(lrs(second))
    assert seen == full[5:]


def test_initial_lr_already_in_the_param_group_is_kept() -> None:
    runner = iter_runner(4)
    runner.optimizer.param_groups[0]["initial_lr"] = 0.5
    expect(drive_iters(runner, ExpLrUpdaterHook(gamma=0.5, by_epoch=False)), lambda i: 0.5 * 0.5**i)


def test_calling_before_run_again_does_not_duplicate_cyclic_phases() -> None:
    runner = iter_runner(10)
    hook = CyclicLrUpdaterHook()
    first = drive_iters(runner, hook)
    runner.call_hook("before_run")
    assert len(hook.lr_phases) == 2
    assert drive_iters(iter_runner(10), CyclicLrUpdaterHook()) == first


# -- no host reads --------------------------------------------------------------------------------


def test_a_tensor_lr_is_updated_in_place_without_reading_it_back(monkeypatch: pytest.MonkeyPatch) -> None:
    net = Net()
    lr = torch.tensor(0.1)
    runner = iter_runner(6, optimizer=torch.optim.SGD(net.parameters(), lr=lr), net=net)
    hook = StepLrUpdaterHook(step=2, by_epoch=False, warmup="linear", warmup_iters=2)
    runner.register_hook(hook)
    runner.call_hook("before_run")  # the one place a tensor lr is read
    reads: list[str] = []
    for name in ("item", "__float__", "tolist", "cpu", "__bool__", "numpy"):
        original = getattr(torch.Tensor, name)
        monkeypatch.setattr(torch.Tensor, name, lambda self, *a, _n=name, _o=original, **k: reads.append(_n) or _o(self, *a, **k))
    for i in range(6):
        runner.loop.iter = i
        runner.call_hook("before_train_iter")
    monkeypatch.undo()
    assert reads == []
    assert runner.optimizer.param_groups[0]["lr"] is lr
    assert lr.item() == pytest.approx(0.1 * 0.1**2)


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: FixedLrUpdaterHook(warmup="cosine", warmup_iters=5), ValueError,
         r"warmup\n  Input should be 'constant', 'linear' or 'exp' \(got `'cosine'`\)"),
        (lambda: FixedLrUpdaterHook(warmup="linear", warmup_iters=0), ValueError,
         r"got warmup_iters=0; expected a positive int. It is the number of warm-up iterations"),
        (lambda: FixedLrUpdaterHook(warmup="linear", warmup_iters=2.5), ValueError,
         r"warmup_iters\n  Input should be a valid integer \(got `2.5`\)"),
        (lambda: FixedLrUpdaterHook(warmup="exp", warmup_iters=5, warmup_ratio=0), ValueError,
         r"warmup_ratio\n  Input should be greater than 0 \(got `0`\)"),
        (lambda: FixedLrUpdaterHook(warmup="exp", warmup_iters=5, warmup_ratio=1.5), ValueError,
         r"warmup_ratio\n  Input should be less than or equal to 1 \(got `1.5`\)"),
        (lambda: FixedLrUpdaterHook(by_epoch="yes"), ValueError, r"by_epoch\n  Input should be a valid boolean \(got `'yes'`\)"),
        (lambda: StepLrUpdaterHook(step=-2), ValueError, r"got step=-2; the step must be positive. Give a positive int"),
        (lambda: StepLrUpdaterHook(step=[3, -1]), ValueError, r"every milestone must be a positive int"),
        (lambda: StepLrUpdaterHook(step=[5, 3]), ValueError, r"got step=\[5, 3\]; the milestones must be in increasing order"),
        (lambda: StepLrUpdaterHook(step="3"), TypeError, r"`StepLrUpdaterHook` got step='3' \(str\)"),
        (lambda: StepLrUpdaterHook(step=3, gamma="0.1"), TypeError, r"got gamma='0.1' \(str\); expected a number"),
        (lambda: PolyLrUpdaterHook(min_lr="1e-4"), TypeError, r"write 1e-4 as 1.0e-4 in YAML"),
        (lambda: CosineAnnealingLrUpdaterHook(min_lr=0.0, min_lr_ratio=0.1), ValueError,
         r"needs exactly one of `min_lr` \(the final value\) and `min_lr_ratio`.*got min_lr=0.0 and min_lr_ratio=0.1; "
         r"keep only one of them"),
        (lambda: LinearAnnealingLrUpdaterHook(), ValueError, r"got min_lr=None and min_lr_ratio=None; give one of them"),
        (lambda: FlatCosineAnnealingLrUpdaterHook(start_percent=1.5, min_lr=0.0), ValueError,
         r"got start_percent=1.5; expected a number in \[0, 1\]"),
        (lambda: CosineRestartLrUpdaterHook(periods=[5, 5], restart_weights=[1], min_lr=0.0), ValueError,
         r"got 2 periods but restart_weights=\[1\]; give one weight per period"),
        (lambda: CosineRestartLrUpdaterHook(periods=[5, 0], min_lr=0.0), ValueError, r"got periods\[\]=0; expected a positive int"),
        (lambda: CosineRestartLrUpdaterHook(periods=5, min_lr=0.0), TypeError, r"got periods=5; expected a list"),
        (lambda: CyclicLrUpdaterHook(by_epoch=True), ValueError,
         r"`CyclicLrUpdaterHook` changes its value every iteration and supports only by_epoch=False"),
        (lambda: CyclicLrUpdaterHook(target_ratio="10"), ValueError, r"got target_ratio='10'; expected a number r"),
        (lambda: CyclicLrUpdaterHook(step_ratio_up=1.0), ValueError, r"got step_ratio_up=1.0; expected a number in \[0, 1\)"),
        (lambda: CyclicLrUpdaterHook(gamma=0), ValueError, r"got gamma=0; expected a number in \(0, 1\]"),
        (lambda: CyclicLrUpdaterHook(anneal_strategy="cosine"), ValueError,
         r"got anneal_strategy='cosine'; expected 'cos' or 'linear'"),
        (lambda: OneCycleLrUpdaterHook(max_lr="0.1"), TypeError, r"got max_lr='0.1' \(str\); expected a number"),
        (lambda: OneCycleLrUpdaterHook(max_lr=0.1, by_epoch=True), ValueError, r"supports only by_epoch=False"),
        (lambda: OneCycleLrUpdaterHook(max_lr=0.1, pct_start=1.3), ValueError, r"got pct_start=1.3; expected a number in \[0, 1\]"),
        (lambda: StepLrUpdaterHook(step=2, warmup_iter=3), TypeError, r"unexpected keyword argument 'warmup_iter'"),
    ],
)
def test_bad_arguments_are_refused_with_a_message_that_says_what_to_give(
    build: Callable[[], Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        build()


def test_an_epoch_schedule_on_a_runner_without_max_epochs_says_how_to_fix_it() -> None:
    runner = iter_runner(10)
    with pytest.raises(RuntimeError, match=r"\(by_epoch=True\) anneals over `runner.max_epochs`, but the runner has "
                       r"max_epochs=None; give the runner `max_epochs` or set by_epoch=False on the hook"):
        drive_iters(runner, CosineAnnealingLrUpdaterHook(min_lr=0.0))


def test_a_runner_without_optimizer_is_refused_in_before_run() -> None:
    runner = runnerkit.IterBasedRunner(model=Net(), max_iters=5)
    with pytest.raises(RuntimeError, match=r"schedules the lr of the runner's optimizer, but the runner has none"):
        drive_iters(runner, FixedLrUpdaterHook())


def test_cyclic_with_more_cycles_than_iterations_is_refused() -> None:
    with pytest.raises(ValueError, match=r"got cyclic_times=30 but the runner trains only 10 iterations"):
        drive_iters(iter_runner(10), CyclicLrUpdaterHook(cyclic_times=30))


def test_one_cycle_total_steps_below_max_iters_is_refused() -> None:
    with pytest.raises(ValueError, match=r"got total_steps=5, fewer than the runner's max_iters=10; give total_steps >= 10"):
        drive_iters(iter_runner(10), OneCycleLrUpdaterHook(max_lr=0.1, total_steps=5))


@pytest.mark.parametrize(
    ("max_lr", "error", "message"),
    [
        ([0.1, 0.2, 0.3], ValueError, r"got 3 values for `max_lr` but optimizer `SGD` has 1 param groups"),
        ({"gen": 0.1}, ValueError, r"got `max_lr` for optimizers \['gen'\] but none for `SGD`; add a `SGD` key"),
        ({"SGD": {"a": 1}}, TypeError, r"got a nested dict for `max_lr\['SGD'\]`"),
    ],
)
def test_one_cycle_max_lr_must_fit_the_optimizers(max_lr: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        drive_iters(iter_runner(10), OneCycleLrUpdaterHook(max_lr=max_lr))


# -- mmcv subclasses ------------------------------------------------------------------------------


def test_an_mmcv_style_subclass_works_with_get_lr_and_mmcv_attribute_names() -> None:
    class HalvingLrUpdaterHook(LrUpdaterHook):
        def get_lr(self, runner: Any, base_lr: float) -> float:
            return base_lr / 2**runner.epoch

    runner = epoch_runner(max_epochs=3, epoch_length=2)
    hook = HalvingLrUpdaterHook(warmup="constant", warmup_iters=1, warmup_ratio=0.5)
    seen = drive_epochs(runner, hook)
    expect(seen, lambda i: BASE / 2 ** (i // 2) * (0.5 if i < 1 else 1))
    assert hook.base_lr == [BASE]
    assert hook.regular_lr == [BASE / 4]
    assert hook.get_warmup_lr(0) == [BASE / 4 * 0.5]
    assert hook.get_regular_lr(runner) == [BASE / 4]


def test_a_subclass_without_get_lr_says_what_to_define() -> None:
    with pytest.raises(NotImplementedError, match=r"`LrUpdaterHook` must define `get_lr\(runner, base_lr\)`"):
        drive_iters(iter_runner(3), LrUpdaterHook(by_epoch=False))


class RecordingNet(Net):
    """Records the lr and momentum each train_step sees."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[float, float]] = []

    def train_step(self, data: torch.Tensor, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        group = optimizer.param_groups[0]
        self.seen.append((group["lr"], group["momentum"]))
        return super().train_step(data, optimizer, **kwargs)


@pytest.mark.parametrize(
    ("runner_type", "length", "step"),
    [("EpochBasedRunner", {"max_epochs": 3}, [1, 2]), ("IterBasedRunner", {"max_iters": 12}, [4, 8])],
)
def test_register_training_hooks_gives_each_train_step_the_mmcv_lr_and_momentum(
    runner_type: str, length: dict[str, int], step: list[int]
) -> None:
    net = RecordingNet()
    optimizer = torch.optim.SGD(net.parameters(), lr=BASE, momentum=0.9)
    runner = runnerkit.build({"type": runner_type, **length}, default_args={"model": net, "optimizer": optimizer})
    lr_config = {"policy": "step", "step": step, "warmup": "linear", "warmup_iters": 3, "warmup_ratio": 0.1}
    runner.register_training_hooks(lr_config=lr_config, momentum_config={"policy": "cyclic"}, optimizer_config={},
                                   timer_config=None)
    runner.run([[torch.randn(2, 2) for _ in range(4)]], [("train", 1)])

    def lr(i: int) -> float:
        regular = BASE * 0.1 ** (i // 4)
        return regular * (1 - (1 - i / 3) * 0.9) if i < 3 else regular

    def momentum(i: int) -> float:  # cyclic over 12 iterations, 4 of them down to 0.85 / 0.95 of 0.9
        low = 0.9 * 0.85 / 0.95
        return cos_anneal(0.9, low, i / 4) if i < 4 else cos_anneal(low, 0.9, (i - 4) / 8)

    assert net.seen == [(pytest.approx(lr(i)), pytest.approx(momentum(i))) for i in range(12)]
