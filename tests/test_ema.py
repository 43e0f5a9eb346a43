"""EMAHook: mmcv's update formula, swapping for evaluation, exact resume, no host syncs."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from pydantic import ValidationError

import runnerkit
from runnerkit.hooks.ema import EMAHook


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.fc = torch.nn.Linear(3, 2)
        self.bn = torch.nn.BatchNorm1d(2)

    def train_step(self, batch: torch.Tensor, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        loss = self.bn(self.fc(batch)).pow(2).mean() + self.fc.weight.sum()
        return {"loss": loss, "log_vars": {"loss": loss.detach()}, "num_samples": len(batch)}


def make_runner(work_dir: Path | None = None, max_iters: int = 10) -> runnerkit.IterBasedRunner:
    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return runnerkit.IterBasedRunner(model=model, optimizer=optimizer, work_dir=work_dir, max_iters=max_iters)


def batches(n: int = 3) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return [torch.randn(4, 3, generator=g) for _ in range(n)]


@contextlib.contextmanager
def count_host_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Record every call that reads a tensor back to the host."""
    calls: list[str] = []
    for name in ("item", "cpu", "tolist", "numpy", "__float__", "__int__", "__bool__"):
        original = getattr(torch.Tensor, name)

        def spy(self: torch.Tensor, *args: Any, _name: str = name, _orig: Any = original, **kw: Any) -> Any:
            calls.append(_name)
            return _orig(self, *args, **kw)

        monkeypatch.setattr(torch.Tensor, name, spy)
    yield calls
    monkeypatch.undo()


def test_the_momentum_follows_mmcvs_formula_with_warm_up_and_interval() -> None:
    hook = EMAHook(momentum=0.2, interval=2, warm_up=10)
    for t in (0, 1, 5, 50, 1000):
        assert hook.coefficient(t) == min(0.2**2, (1 + t) / (10 + t))
    assert EMAHook(momentum=0.5, warm_up=0).coefficient(0) == 0.5


def test_each_update_is_ema_times_one_minus_m_plus_m_times_the_weight() -> None:
    runner = make_runner()
    hook = EMAHook(momentum=0.3, warm_up=4)
    runner.register_hook(hook)
    hook.before_run(runner)
    expected = {k: v.clone() for k, v in hook.averages().items()}
    for step in range(5):
        with torch.no_grad():
            for p in runner.model.parameters():
                p.add_(torch.randn_like(p))
            runner.model.bn.running_mean.add_(1.0)
        runner.loop.iter = step
        hook.after_train_iter(runner)
        m = min(0.3, (1 + step) / (4 + step))
        current = dict(runner.model.named_parameters()) | {
            "bn.running_mean": runner.model.bn.running_mean, "bn.running_var": runner.model.bn.running_var,
        }
        for name in expected:
            expected[name] = expected[name] * (1 - m) + current[name].detach() * m
            torch.testing.assert_close(hook.averages()[name], expected[name], rtol=0, atol=1e-6)


def test_updates_happen_only_every_interval_iterations() -> None:
    runner = make_runner()
    hook = EMAHook(momentum=0.5, interval=3, warm_up=1)
    hook.before_run(runner)
    before = hook.averages()["fc.weight"].clone()
    with torch.no_grad():
        runner.model.fc.weight.add_(1.0)
    for step, changes in ((1, False), (2, False), (3, True)):
        runner.loop.iter = step
        previous = hook.averages()["fc.weight"].clone()
        hook.after_train_iter(runner)
        assert torch.equal(hook.averages()["fc.weight"], previous) is not changes
    assert not torch.equal(hook.averages()["fc.weight"], before)


def test_integer_buffers_are_not_averaged_and_skip_buffers_keeps_only_parameters() -> None:
    runner = make_runner()
    hook = EMAHook()
    hook.before_run(runner)
    assert set(hook.averages()) == {"fc.weight", "fc.bias", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"}
    only_params = EMAHook(skip_buffers=True)
    only_params.before_run(runner)
    assert set(only_params.averages()) == {"fc.weight", "fc.bias", "bn.weight", "bn.bias"}


def test_the_model_holds_the_averages_between_an_epochs_end_and_the_next_epoch() -> None:
    runner = make_runner()
    hook = EMAHook(momentum=0.5, warm_up=1)
    hook.before_run(runner)
    with torch.no_grad():
        runner.model.fc.weight.fill_(2.0)
    runner.loop.iter = 0
    hook.after_train_iter(runner)
    trained = runner.model.fc.weight.detach().clone()
    average = hook.averages()["fc.weight"].clone()
    hook.after_train_epoch(runner)
    assert torch.equal(runner.model.fc.weight, average)
    assert torch.equal(hook.averages()["fc.weight"], average)
    hook.before_train_epoch(runner)
    assert torch.equal(runner.model.fc.weight, trained)
    hook.after_train_epoch(runner)
    hook.before_train_iter(runner)  # a loop that trains on without a new epoch gets its weights back too
    assert torch.equal(runner.model.fc.weight, trained)


def test_a_second_run_of_the_same_model_keeps_the_averages() -> None:
    runner = make_runner()
    hook = EMAHook(momentum=0.5, warm_up=1)
    hook.before_run(runner)
    with torch.no_grad():
        runner.model.fc.weight.add_(1.0)
    hook.after_train_iter(runner)
    average = hook.averages()["fc.weight"].clone()
    hook.before_run(runner)
    assert torch.equal(hook.averages()["fc.weight"], average)
    other = make_runner()
    hook.before_run(other)  # another model starts afresh
    assert torch.equal(hook.averages()["fc.weight"], other.model.fc.weight)


def test_updates_never_read_a_tensor_back_to_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = make_runner()
    hook = EMAHook(momentum=0.1, warm_up=3)
    hook.before_run(runner)
    with count_host_reads(monkeypatch) as calls:
        for step in range(20):
            runner.loop.iter = step
            hook.before_train_iter(runner)
            hook.after_train_iter(runner)
        hook.after_train_epoch(runner)
        hook.before_train_epoch(runner)
        hook.state_dict()
    assert calls == []


def test_a_state_loaded_before_the_run_is_applied_when_the_model_is_known() -> None:
    source = make_runner()
    trained = EMAHook(momentum=0.5, warm_up=1)
    trained.before_run(source)
    with torch.no_grad():
        source.model.fc.weight.add_(3.0)
    trained.after_train_iter(source)
    trained.after_train_epoch(source)
    state = trained.state_dict()
    assert state["swapped"] is True

    fresh = EMAHook(momentum=0.5, warm_up=1)
    fresh.load_state_dict(state)
    assert fresh.state_dict() is state  # kept as it is until before_run
    target = make_runner()
    fresh.before_run(target)
    assert fresh.state_dict()["swapped"] is True
    for name, value in state["shadow"].items():
        assert torch.equal(fresh.state_dict()["shadow"][name], value)


def test_a_state_that_does_not_match_the_model_is_refused() -> None:
    runner = make_runner()
    with_buffers, params_only = EMAHook(), EMAHook(skip_buffers=True)
    with_buffers.before_run(runner)
    params_only.before_run(runner)
    with pytest.raises(ValueError, match=r"EMAHook state must be a dict with `shadow`"):
        with_buffers.load_state_dict({"ema": {}})
    with pytest.raises(ValueError, match=r"missing \['bn.running_mean', 'bn.running_var'\], unexpected \[\]"):
        with_buffers.load_state_dict(params_only.state_dict())
    with pytest.raises(ValueError, match=r"missing \[\], unexpected \['bn.running_mean', 'bn.running_var'\]"):
        params_only.load_state_dict(with_buffers.state_dict())
    bad = {"shadow": dict(with_buffers.state_dict()["shadow"], **{"fc.weight": torch.zeros(5)}), "swapped": False}
    with pytest.raises(ValueError, match=r"EMA of `fc.weight` has shape \(5,\) but the model's is \(2, 3\)"):
        with_buffers.load_state_dict(bad)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"interval": 0}, r"for EMAHook\ninterval\n  Input should be greater than 0 \(got `0`\)"),
        ({"momentum": 1.0}, r"momentum\n  Input should be less than 1 \(got `1.0`\)"),
        ({"momentum": "0.1"}, r"momentum\n  Input should be a valid number \(got `'0.1'`\)"),
        ({"warm_up": -1}, r"warm_up\n  Input should be greater than or equal to 0 \(got `-1`\)"),
        ({"resume_from": 3}, r"resume_from\n  Input should be a valid string \(got `3`\)"),
        ({"momentun": 0.1}, r"unknown argument `momentun` for `EMAHook`. Did you mean `momentum`\?"),
    ],
)
def test_bad_arguments_are_refused_with_the_value_given(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        EMAHook(**kwargs)


def _train(
    work_dir: Path, resume: Path | None = None, max_iters: int = 10, as_object: bool = True,
) -> tuple[runnerkit.IterBasedRunner, EMAHook]:
    runner = make_runner(work_dir, max_iters)
    # A hook object is registered at NORMAL after CheckpointHook (mmcv): checkpoints are written
    # before its update. From a config it takes its own priority (49), before CheckpointHook.
    custom: Any = EMAHook(momentum=0.3, warm_up=2) if as_object else {"type": "EMAHook", "momentum": 0.3, "warm_up": 2}
    runner.register_training_hooks(
        lr_config=None, optimizer_config={}, checkpoint_config={"interval": 4}, custom_hooks_config=[custom],
    )
    if resume is not None:
        runner.resume(resume)
    runner.run([batches(3)], [("train", 1)])  # 3 batches: the loader wraps, epoch hooks swap
    (hook,) = [h for h in runner.hooks if isinstance(h, EMAHook)]
    return runner, hook


@pytest.mark.parametrize("as_object", [True, False], ids=["after-checkpoint-hook", "before-checkpoint-hook"])
def test_a_resumed_run_ends_with_the_same_average_and_weights(tmp_path: Path, as_object: bool) -> None:
    full, full_hook = _train(tmp_path / "full", as_object=as_object)
    cut, _ = _train(tmp_path / "cut", max_iters=5, as_object=as_object)
    resumed, resumed_hook = _train(tmp_path / "cut2", resume=tmp_path / "cut" / "iter_4.pth", as_object=as_object)
    for name, value in full_hook.averages().items():
        assert torch.equal(resumed_hook.averages()[name], value), name
    for (name, a), b in zip(full.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), name
    assert not torch.equal(cut.model.fc.weight, full.model.fc.weight)


def test_resume_from_resumes_the_runner_and_the_average_at_before_run(tmp_path: Path) -> None:
    _, first = _train(tmp_path / "first", max_iters=4, as_object=False)
    runner = make_runner(tmp_path / "second", max_iters=6)
    hook = EMAHook(momentum=0.3, warm_up=2, resume_from=str(tmp_path / "first" / "iter_4.pth"))
    runner.register_hook(hook)
    hook.before_run(runner)
    assert runner.iter == 4
    for name, value in first.averages().items():
        assert torch.equal(hook.averages()[name], value), name


def test_the_hook_is_found_by_name_through_its_entry_point() -> None:
    runner = make_runner()
    runner.register_hook_from_cfg({"type": "EMAHook", "momentum": 0.01, "priority": "ABOVE_NORMAL"})
    (hook,) = runner.hooks
    assert isinstance(hook, EMAHook) and hook.momentum == 0.01 and hook.priority == 40


@pytest.mark.cuda
def test_on_a_gpu_updates_and_swaps_never_synchronise_with_the_host() -> None:
    model = Net().cuda()
    runner = runnerkit.IterBasedRunner(model=model, max_iters=50)
    hook = EMAHook(momentum=0.1, warm_up=5)
    hook.before_run(runner)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for step in range(50):
            runner.loop.iter = step
            hook.before_train_iter(runner)
            with torch.no_grad():
                model.fc.weight.add_(0.01)
            hook.after_train_iter(runner)
            if step % 10 == 9:
                hook.after_train_epoch(runner)
                hook.before_train_epoch(runner)
        state = hook.state_dict()
    finally:
        torch.cuda.set_sync_debug_mode(0)
    assert state["shadow"]["fc.weight"].device.type == "cuda"
    assert state["step"] == 49


def test_with_an_iteration_runner_checkpoints_hold_the_training_weights_and_the_model_the_averages_after(
        tmp_path: Path) -> None:
    """What EMAHook's docs and docs/examples/demo.yaml say: the whole run is one epoch, swapped at its end."""
    runner = make_runner(tmp_path, max_iters=6)
    ema = EMAHook(momentum=0.5)
    runner.register_training_hooks(lr_config=None, optimizer_config={}, checkpoint_config={"interval": 6, "by_epoch": False})
    runner.register_hook(ema)
    runner.run([batches()], [("train", 1)])
    saved = torch.load(tmp_path / "iter_6.pth", weights_only=True)["state_dict"]
    averages = ema.averages()
    assert not torch.equal(saved["fc.weight"], averages["fc.weight"])  # the training weights were saved
    assert torch.equal(runner.model.fc.weight.detach(), averages["fc.weight"])  # the model ends with the averages
