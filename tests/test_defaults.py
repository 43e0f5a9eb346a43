"""mmcv's defaults layer: config shapes to hook names, default priorities, ``register_training_hooks``."""

from __future__ import annotations

import ast
import copy
from pathlib import Path
from typing import Any

import pytest
import torch

import runnerkit
from runnerkit.hooks.hook import Priority
from runnerkit.hooks.lr_updater import CyclicLrUpdaterHook, FixedLrUpdaterHook, StepLrUpdaterHook
from runnerkit.hooks.momentum_updater import CyclicMomentumUpdaterHook
from runnerkit.runners.defaults import PRIORITIES, lr_hook_cfg, momentum_hook_cfg
from tests.helpers import TinyNet

# -- mmcv's lr_config shapes ----------------------------------------------------------------------


def test_lr_config_policy_names_the_hook_as_mmcv_does() -> None:
    cfg = {"policy": "step", "step": [2, 3], "warmup": "linear", "warmup_iters": 5, "warmup_ratio": 0.1}
    original = copy.deepcopy(cfg)
    out = lr_hook_cfg(cfg, by_epoch_default=None)
    assert out == {"type": "StepLrUpdaterHook", "step": [2, 3], "warmup": "linear", "warmup_iters": 5,
                   "warmup_ratio": 0.1}
    assert cfg == original
    assert out["step"] is not cfg["step"]


@pytest.mark.parametrize(
    ("policy", "hook"),
    [("fixed", "FixedLrUpdaterHook"), ("poly", "PolyLrUpdaterHook"), ("cyclic", "CyclicLrUpdaterHook"),
     ("CosineAnnealing", "CosineAnnealingLrUpdaterHook"), ("OneCycle", "OneCycleLrUpdaterHook"),
     ("FlatCosineAnnealing", "FlatCosineAnnealingLrUpdaterHook")],
)
def test_lower_case_policies_are_titled_and_camel_case_ones_kept(policy: str, hook: str) -> None:
    out = lr_hook_cfg({"policy": policy}, by_epoch_default=None)
    assert isinstance(out, dict)
    assert out["type"] == hook
    assert runnerkit.default_container().get("hook", hook).__name__ == hook


def test_by_epoch_default_fills_only_a_missing_by_epoch() -> None:
    assert lr_hook_cfg({"policy": "step", "step": 2}, by_epoch_default=False)["by_epoch"] is False  # type: ignore[index]
    assert lr_hook_cfg({"policy": "step", "step": 2, "by_epoch": True}, by_epoch_default=False)["by_epoch"] is True  # type: ignore[index]
    assert "by_epoch" not in lr_hook_cfg({"policy": "step", "step": 2}, by_epoch_default=None)  # type: ignore[operator]


def test_type_may_be_given_instead_of_policy_and_hooks_or_none_pass_through() -> None:
    assert lr_hook_cfg({"type": "StepLrUpdaterHook", "step": 2}, None) == {"type": "StepLrUpdaterHook", "step": 2}
    hook = FixedLrUpdaterHook()
    assert lr_hook_cfg(hook, False) is hook
    assert lr_hook_cfg(None, False) is None


@pytest.mark.parametrize(
    ("cfg", "error", "message"),
    [
        ({"policy": "step", "type": "StepLrUpdaterHook"}, runnerkit.ConfigError,
         r"`lr_config` has both `policy='step'` and `type='StepLrUpdaterHook'`; keep one of them"),
        ({"step": 2}, runnerkit.ConfigError, r"`lr_config` has no `policy` key \(it has `step`\); add one"),
        ({"policy": 3}, runnerkit.ConfigError, r"`lr_config` has policy=3; expected a schedule name"),
        (["step"], TypeError, r"`lr_config` must be a dict like dict\(policy='step', ...\), a Hook or None, got list"),
    ],
)
def test_unusable_lr_configs_are_refused(cfg: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        lr_hook_cfg(cfg, None)


def test_an_mmcv_lr_config_builds_and_registers_the_step_hook_at_very_high() -> None:
    cfg = {"policy": "step", "step": [2, 3], "warmup": "linear", "warmup_iters": 5, "warmup_ratio": 0.1}
    runner = runnerkit.EpochBasedRunner(model=TinyNet(), max_epochs=4)
    runner.register_hook_from_cfg({"type": "FixedLrUpdaterHook", "priority": "LOW"})
    runner.register_hook_from_cfg(lr_hook_cfg(cfg, by_epoch_default=None))  # type: ignore[arg-type]
    hook = runner.hooks[0]
    assert isinstance(hook, StepLrUpdaterHook)
    assert (hook.step, hook.warmup, hook.warmup_iters, hook.warmup_ratio, hook.by_epoch) == ([2, 3], "linear", 5, 0.1, True)
    assert hook.priority == Priority.VERY_HIGH




# -- mmcv's momentum_config shapes ----------------------------------------------------------------


def test_momentum_config_policy_names_the_hook_and_the_callers_dict_is_kept() -> None:
    cfg = {"policy": "cyclic", "target_ratio": (0.85 / 0.95, 1), "cyclic_times": 1, "step_ratio_up": 0.4}
    original = copy.deepcopy(cfg)
    out = momentum_hook_cfg(cfg)
    assert out == {"type": "CyclicMomentumUpdaterHook", "target_ratio": (0.85 / 0.95, 1), "cyclic_times": 1,
                   "step_ratio_up": 0.4}
    assert cfg == original


@pytest.mark.parametrize(
    ("policy", "hook"),
    [("step", "StepMomentumUpdaterHook"), ("CosineAnnealing", "CosineAnnealingMomentumUpdaterHook"),
     ("OneCycle", "OneCycleMomentumUpdaterHook"), ("LinearAnnealing", "LinearAnnealingMomentumUpdaterHook")],
)
def test_momentum_policies_map_to_hook_names_that_exist(policy: str, hook: str) -> None:
    out = momentum_hook_cfg({"policy": policy}, by_epoch_default=False)
    assert out == {"type": hook, "by_epoch": False}
    assert runnerkit.default_container().get("hook", hook).__name__ == hook


def test_a_momentum_config_without_policy_or_type_is_refused() -> None:
    with pytest.raises(runnerkit.ConfigError, match=r"`momentum_config` has no `policy` key \(it has no keys\)"):
        momentum_hook_cfg({})


def test_momentum_hooks_run_at_high_priority_after_the_lr_hooks() -> None:
    runner = runnerkit.IterBasedRunner(model=TinyNet(), max_iters=10)
    runner.register_hook_from_cfg(momentum_hook_cfg({"policy": "cyclic"}))  # type: ignore[arg-type]
    runner.register_hook_from_cfg(lr_hook_cfg({"policy": "cyclic"}, None))  # type: ignore[arg-type]
    assert [type(h) for h in runner.hooks] == [CyclicLrUpdaterHook, CyclicMomentumUpdaterHook]
    assert [h.priority for h in runner.hooks] == [Priority.VERY_HIGH, Priority.HIGH]




def test_register_training_hooks_does_not_mutate_configs(work_dir: Path) -> None:
    net = TinyNet()
    runner = runnerkit.IterBasedRunner(model=net, optimizer=torch.optim.SGD(net.parameters(), lr=0.1), work_dir=work_dir, max_iters=2)
    lr = {"policy": "step", "step": [1]}
    ckpt = {"interval": 1}
    log = {"interval": 1, "hooks": [{"type": "TextLoggerHook"}]}
    copies = [repr(lr), repr(ckpt), repr(log)]
    runner.register_training_hooks(lr, {}, ckpt, log)
    assert [repr(lr), repr(ckpt), repr(log)] == copies
    names = [type(h).__name__ for h in runner.hooks]
    assert names == ["StepLrUpdaterHook", "OptimizerHook", "CheckpointHook", "IterTimerHook", "TextLoggerHook"]
    # the iteration runner defaults by_epoch to False for these hooks, as mmcv
    assert all(getattr(h, "by_epoch", False) is False for h in runner.hooks)


def test_register_training_hooks_uses_the_documented_priorities(work_dir: Path) -> None:
    net = TinyNet()
    runner = runnerkit.EpochBasedRunner(model=net, optimizer=torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9),
                                        work_dir=work_dir, max_epochs=1)
    runner.register_training_hooks({"policy": "step", "step": [1]}, {}, {"interval": 1},
                                   {"interval": 1, "hooks": [{"type": "TextLoggerHook"}]},
                                   momentum_config={"policy": "cyclic"})
    sections = ["lr_config", "momentum_config", "optimizer_config", "checkpoint_config", "timer_config", "log_config"]
    assert [h.priority for h in runner.hooks] == [Priority[PRIORITIES[s]] for s in sections]


def test_a_log_config_hook_entry_of_none_is_refused(work_dir: Path) -> None:
    runner = runnerkit.EpochBasedRunner(model=TinyNet(), work_dir=work_dir, max_epochs=1)
    with pytest.raises(TypeError, match=r"`log_config.hooks` holds None"):
        runner.register_training_hooks(None, log_config={"interval": 1, "hooks": [None]})


ROOT = Path(runnerkit.__file__).parent
CONCRETE_HOOKS = {f"runnerkit.hooks.{p.stem}" for p in (ROOT / "hooks").glob("*.py")} - {
    "runnerkit.hooks.__init__", "runnerkit.hooks.hook", "runnerkit.hooks.builder"}
CONCRETE_RUNNERS = {"runnerkit.runners.iter_based", "runnerkit.runners.epoch_based", "runnerkit.runners.base"}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("path", sorted((ROOT / "runners").glob("*.py")), ids=lambda p: p.name)
def test_the_runner_layer_imports_no_concrete_hook(path: Path) -> None:
    assert not _imports(path) & CONCRETE_HOOKS


@pytest.mark.parametrize("path", sorted((ROOT / "hooks").glob("*.py")), ids=lambda p: p.name)
def test_no_hook_imports_a_concrete_runner(path: Path) -> None:
    runtime = _imports(path) - _type_checking_imports(path)
    assert not runtime & CONCRETE_RUNNERS


def _type_checking_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and inner.module:
                    found.add(inner.module)
                    found.update(f"{inner.module}.{alias.name}" for alias in inner.names)
    return found
