"""The loop's semantics equal mmcv 1.7.2's, checked against numbers real mmcv logged (issue 22, items 1-6).

``data/loop_semantics.json`` holds what the scenarios of :mod:`tests.mmcv_parity.loop_scenarios`
gave under real mmcv 1.7.2 (``/work/mmcv-venv``, same torch); here they run under the layer.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.mmcv_parity.loop_scenarios import SCENARIOS, run_scenario

REFERENCE = json.loads((Path(__file__).parent / "data" / "loop_semantics.json").read_text())


def reference(name: str) -> dict[str, Any]:
    assert REFERENCE["mmcv"] == "1.7.2"
    return REFERENCE["scenarios"][name]  # type: ignore[no-any-return]


def close(actual: list[Any], expected: list[Any]) -> None:
    """Equal to 4 decimals (the reference is rounded to 6)."""
    assert actual == pytest.approx(expected, abs=1e-4)


def test_every_scenario_has_reference_data() -> None:
    assert set(REFERENCE["scenarios"]) == set(SCENARIOS)


def test_an_evaluation_hooks_eval_mode_does_not_stay_for_the_following_iterations() -> None:
    """Item 1: mmcv's IterBasedRunner calls model.train() every iteration; dropout and BN stay on."""
    ours, theirs = run_scenario("eval_mode_restored"), reference("eval_mode_restored")
    assert ours["modes"] == theirs["modes"] == [True] * 8
    close(ours["losses"], theirs["losses"])
    close(ours["weights"], theirs["weights"])


def test_a_runner_subclass_run_iter_is_called_for_every_batch() -> None:
    """Item 2: BEVFormer-style video runners override run_iter; the fast path must not skip it."""
    ours, theirs = run_scenario("run_iter_override"), reference("run_iter_override")
    assert ours["calls"] == theirs["calls"] == 10
    close(ours["losses"], theirs["losses"])
    close(ours["weights"], theirs["weights"])


def test_a_module_wrappers_own_train_step_is_called() -> None:
    """Item 3: the wrapper's train_step (MMDataParallel moves the batch there) is not bypassed."""
    ours, theirs = run_scenario("wrapper_train_step"), reference("wrapper_train_step")
    close(ours["losses"], theirs["losses"])
    close(ours["weights"], theirs["weights"])


def test_iter_runner_calls_epoch_hooks_once_and_logs_mmcvs_averages() -> None:
    """Item 4: no epoch hooks at each pass, so the logger's averages span passes as mmcv's."""
    ours, theirs = run_scenario("epoch_hooks_and_log_averages"), reference("epoch_hooks_and_log_averages")
    assert [s[0] for s in ours["stages"]].count("before_epoch") == 1
    assert ours["stages"] == theirs["stages"]
    assert [line["iter"] for line in ours["logged"]] == [line["iter"] for line in theirs["logged"]] == [4, 8, 12]
    close([line["loss"] for line in ours["logged"]], [line["loss"] for line in theirs["logged"]])
    close(ours["losses"], theirs["losses"])
    assert ours["modes"] == theirs["modes"]


def test_clip_grads_takes_parameters_and_a_subclass_may_skip_super_init() -> None:
    """Item 5: mmdet-style `self.clip_grads(runner.model.parameters())` in a hook without super().__init__."""
    ours, theirs = run_scenario("clip_grads_subclass"), reference("clip_grads_subclass")
    assert [sorted(line) for line in ours["logged"]] == [sorted(line) for line in theirs["logged"]]
    for key in ("loss", "grad_norm"):
        close([line[key] for line in ours["logged"]], [line[key] for line in theirs["logged"]])
    close(ours["weights"], theirs["weights"])


def test_resume_warns_about_ema_buffers_and_trains_on_as_mmcv(caplog: pytest.LogCaptureFixture) -> None:
    """Item 6: a checkpoint with mmdet's `ema_*` buffers resumes into a model without them (a warning)."""
    with caplog.at_level(logging.WARNING, logger="loop-scenarios"):
        ours = run_scenario("resume_with_ema_buffers")
    theirs = reference("resume_with_ema_buffers")
    assert ours["resumed_at"] == theirs["resumed_at"] == [1, 5]
    assert any("unexpected keys" in r.getMessage() and "ema_fc1_weight" in r.getMessage() for r in caplog.records)
    close(ours["losses"], theirs["losses"])
    close(ours["weights"], theirs["weights"])


def test_fp16_hook_honours_a_loss_scale_dict() -> None:
    """Item 6: `Fp16OptimizerHook(loss_scale=dict(init_scale=...))` is `GradScaler(**loss_scale)` (mmcv)."""
    from mmcv.runner import Fp16OptimizerHook, IterBasedRunner

    from runnerkit.hooks.optimizer import _scaler_args
    from tests.mmcv_parity.helpers import Model

    model = Model()
    runner = IterBasedRunner(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), max_iters=1)
    hook = Fp16OptimizerHook(loss_scale=dict(init_scale=256.0, growth_interval=7))
    runner.register_hook(hook)
    hook.before_run(runner)
    assert _scaler_args(hook.loss_scale) == ({"init_scale": 256.0, "growth_interval": 7}, None)
    assert hook.scaler is not None
    if torch.cuda.is_available():
        model.cuda()
        hook.before_run(runner)
        assert hook.scaler.get_scale() == 256.0 and hook.scaler.get_growth_interval() == 7
    else:  # mmcv's torch.cuda.amp.GradScaler(**loss_scale) is disabled without CUDA
        assert not hook.scaler.is_enabled() and hook.scaler.get_scale() == 1.0
    with pytest.raises(ValueError, match=r"Unknown `loss_scale` keys \['mode'\].*init_scale, growth_factor"):
        Fp16OptimizerHook(loss_scale=dict(mode="dynamic", init_scale=512.0))


def test_train_mode_is_restored_after_an_eval_hook_by_iterations_and_a_submodule_switch() -> None:
    """Item 1 through the interval path (EvalHook is called only when due) and a hook that switches
    only a submodule (mmcv's per-iteration `model.train()` restores both)."""
    from mmcv.runner import EvalHook, Hook, IterBasedRunner

    from tests.mmcv_parity.loop_scenarios import loader, make_net

    evaluated: list[int] = []

    def test_fn(model: Any, data_loader: Any) -> list[Any]:
        model.eval()  # as mmdet's and mmseg's single_gpu_test
        evaluated.append(1)
        return [0.0]

    class Dataset(torch.utils.data.TensorDataset):
        def evaluate(self, results: list[Any], logger: Any = None) -> dict[str, float]:
            return {"score": 1.0}

    class FreezeNorm(Hook):
        def after_train_iter(self, runner: Any) -> None:
            if self.every_n_iters(runner, 4):
                runner.model.bn.eval()

    val = torch.utils.data.DataLoader(Dataset(torch.ones(2, 4), torch.ones(2)), batch_size=2)
    model = make_net()
    runner = IterBasedRunner(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.01), max_iters=9,
                             logger=logging.getLogger("loop-scenarios"))
    runner.register_training_hooks(lr_config=None, optimizer_config={})
    runner.register_hook(EvalHook(val, interval=3, by_epoch=False, test_fn=test_fn))
    runner.register_hook(FreezeNorm())
    runner.run([loader()], [("train", 1)])
    assert len(evaluated) == 3
    assert model.modes == [True] * 9
