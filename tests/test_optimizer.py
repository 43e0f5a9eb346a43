"""Optimizer hooks: parity with a hand-written loop, clipping, accumulation, dicts, mixed precision."""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path
from typing import Any

import pytest
import torch

import runnerkit
from runnerkit.hooks.optimizer import AmpOptimizerHook, GradientCumulativeOptimizerHook, OptimizerHook
from tests.helpers import TinyNet, make_loader


def _run(model: torch.nn.Module, opt: Any, loader: Any, optimizer_config: Any, max_iters: int, work_dir: Path | None = None) -> Any:
    runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": max_iters}, {"model": model, "optimizer": opt, "work_dir": work_dir})
    runner.register_training_hooks(None, optimizer_config, log_config={"interval": 2, "hooks": [{"type": "TextLoggerHook"}]})
    runner.run([loader], [("train", 1)])
    return runner


def test_training_equals_a_hand_written_loop_with_clipping(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = TinyNet()
    ref = copy.deepcopy(model)
    loader = make_loader(12, batch_size=3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    _run(model, opt, loader, {"grad_clip": {"max_norm": 0.3}}, 8)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    batches = list(loader)
    for i in range(8):
        out = ref.train_step(batches[i % len(batches)], ref_opt)
        ref_opt.zero_grad()
        out["loss"].backward()
        torch.nn.utils.clip_grad_norm_(ref.parameters(), max_norm=0.3)
        ref_opt.step()
    for a, b in zip(model.parameters(), ref.parameters()):
        assert torch.equal(a, b)


def test_grad_norm_is_logged(tmp_path: Path) -> None:
    model = TinyNet()
    runner = _run(model, torch.optim.SGD(model.parameters(), lr=0.1), make_loader(12), {"grad_clip": {"max_norm": 100.0}}, 5,
                  tmp_path)
    norms = list(runner.log_buffer.val_history["grad_norm"])
    assert len(norms) == 5
    # averaged at the log lines (iterations 2 and 4): read back then, kept as numbers; the 5th is not read yet
    assert [type(v) for v in norms] == [float, float, float, float, torch.Tensor]
    assert all(v > 0 for v in norms[:4])
    (log,) = tmp_path.glob("*.log.json")
    logged = [json.loads(line)["grad_norm"] for line in log.read_text().splitlines() if "grad_norm" in line]
    assert logged == pytest.approx([(norms[0] + norms[1]) / 2, (norms[2] + norms[3]) / 2], abs=1e-5)


def test_accumulating_two_iterations_equals_one_double_batch() -> None:
    torch.manual_seed(0)
    model = TinyNet()
    big = copy.deepcopy(model)
    _run(model, torch.optim.SGD(model.parameters(), lr=0.1), make_loader(8, batch_size=2),
         {"type": "GradientCumulativeOptimizerHook", "cumulative_iters": 2}, 4)
    _run(big, torch.optim.SGD(big.parameters(), lr=0.1), make_loader(8, batch_size=4), {}, 2)
    for a, b in zip(model.parameters(), big.parameters()):
        torch.testing.assert_close(a, b)


def test_a_dict_of_optimizers_is_stepped_whole() -> None:
    model = TinyNet()
    opts = {"w": torch.optim.SGD([model.fc.weight], lr=0.1), "b": torch.optim.SGD([model.fc.bias], lr=0.1)}
    w, b = model.fc.weight.detach().clone(), model.fc.bias.detach().clone()
    runner = _run(model, opts, make_loader(4), {}, 2)
    assert not torch.equal(w, model.fc.weight) and not torch.equal(b, model.fc.bias)
    assert set(runner.current_lr()) == {"w", "b"}


def test_bf16_autocast_runs_the_step_in_bfloat16_on_cpu() -> None:
    dtypes: list[torch.dtype] = []

    class Probe(TinyNet):
        def train_step(self, batch: Any, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
            x, y = batch
            out = self.fc(x)
            dtypes.append(out.dtype)
            loss = (out.squeeze(-1).float() - y).pow(2).mean()
            return {"loss": loss, "log_vars": {"loss": loss.detach()}, "num_samples": len(x)}

    model = Probe()
    before = model.fc.weight.detach().clone()
    _run(model, torch.optim.SGD(model.parameters(), lr=0.1), make_loader(4), {"type": "AmpOptimizerHook", "dtype": "bfloat16"}, 2)
    assert dtypes == [torch.bfloat16, torch.bfloat16]
    assert not torch.equal(before, model.fc.weight)


def test_amp_grad_scaler_state_is_saved_and_restored(work_dir: Path) -> None:
    model = TinyNet()
    runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": 3},
                             {"model": model, "optimizer": torch.optim.SGD(model.parameters(), lr=0.01), "work_dir": work_dir})
    runner.register_training_hooks(None, {"type": "AmpOptimizerHook", "loss_scale": 128.0}, {"interval": 3})
    runner.run([make_loader(4)], [("train", 1)])
    ckpt = torch.load(work_dir / "iter_3.pth", weights_only=True)
    assert ckpt["runnerkit"]["hooks"]["AmpOptimizerHook"]["scaler"]["scale"] == 128.0
    fresh = runnerkit.default_container().get("hook", "AmpOptimizerHook")()
    fresh.load_state_dict(ckpt["runnerkit"]["hooks"]["AmpOptimizerHook"])
    assert fresh._pending_state is not None and fresh._pending_state["scale"] == 128.0


def _sgd_run(config: dict[str, Any], model: torch.nn.Module, work_dir: Path) -> list[dict[str, Any]]:
    runner = _run(model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), make_loader(12, batch_size=3),
                  config, 6, work_dir)
    assert runner.step_context is contextlib.nullcontext
    (log,) = work_dir.glob("*.log.json")
    records = [json.loads(line) for line in log.read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in ("time", "data_time", "memory")} for r in records if "mode" in r]


@pytest.mark.parametrize("hook", ["Fp16OptimizerHook", "GradientCumulativeFp16OptimizerHook"])
def test_mmcvs_fp16_hook_on_a_cpu_trains_an_undecorated_model_exactly_as_the_fp32_hook(hook: str, tmp_path: Path) -> None:
    # mmcv 1.7.2: no step autocast, and torch.cuda.amp.GradScaler is disabled without CUDA (the loss is not scaled)
    torch.manual_seed(0)
    model = TinyNet()
    fp32 = copy.deepcopy(model)
    clip = {"grad_clip": {"max_norm": 0.3}}
    logged = _sgd_run({"type": hook, "loss_scale": dict(init_scale=512.0), **clip}, model, tmp_path / "fp16")
    assert logged == _sgd_run(clip, fp32, tmp_path / "fp32") and len(logged) == 3
    for a, b in zip(model.parameters(), fp32.parameters()):
        assert torch.equal(a, b)
    assert not runnerkit.default_container().get("hook", hook).autocast_step


def test_mmcvs_fp16_hook_switches_on_fp16_enabled_where_a_module_has_it_and_autocasts_no_step() -> None:
    seen: list[tuple[bool, bool]] = []

    class Head(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fp16_enabled = False

    class Decorated(TinyNet):  # the attribute mmcv's @auto_fp16/@force_fp32 read
        def __init__(self) -> None:
            super().__init__()
            self.fp16_enabled = False
            self.head = Head()

        def train_step(self, batch: Any, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
            seen.append((self.fp16_enabled and self.head.fp16_enabled, torch.is_autocast_enabled("cpu")))
            return super().train_step(batch, optimizer, **kwargs)

    model = Decorated()
    runner = _run(model, torch.optim.SGD(model.parameters(), lr=0.1), make_loader(4),
                  {"type": "Fp16OptimizerHook", "loss_scale": "dynamic"}, 2)
    assert seen == [(True, False), (True, False)]
    hook = next(h for h in runner.hooks if isinstance(h, AmpOptimizerHook))
    assert hook.scaler is not None and not hook.scaler.is_enabled()  # CPU parameters: no loss scaling
    assert hook.state_dict() == {"scaler": {}}


@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda: OptimizerHook(grad_clip={"max": 1}), "must be a dict with `max_norm`"),
        (lambda: OptimizerHook(grad_clip={"max_norm": 1, "nrm": 2}), "Unknown `grad_clip` keys \\['nrm'\\]"),
        (lambda: GradientCumulativeOptimizerHook(cumulative_iters=0), r"cumulative_iters\n  Input should be greater than 0"),
        (lambda: AmpOptimizerHook(dtype="int8"), r"dtype\n  Input should be 'float16', 'fp16', 'bfloat16' or 'bf16'"),
        (lambda: AmpOptimizerHook(loss_scale=-1), "`loss_scale` must be 'dynamic', a positive number or a dict"),
        (lambda: AmpOptimizerHook(loss_scale=dict(mode="dynamic")), r"Unknown `loss_scale` keys \['mode'\]"),
    ],
)
def test_bad_optimizer_hook_arguments_are_explained(factory: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        factory()


def test_an_optimizer_hook_without_an_optimizer_says_so() -> None:
    runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": 1}, {"model": TinyNet()})
    runner.register_training_hooks(None, {})
    with pytest.raises(RuntimeError, match="has no optimizer, but an optimizer hook is registered"):
        runner.run([make_loader(4)], [("train", 1)])


def test_accumulation_under_ddp_all_reduces_only_on_stepping_iterations(tmp_path: Path) -> None:
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'rdzv'}", rank=0, world_size=1)
    try:
        torch.manual_seed(0)
        plain = TinyNet()
        wrapped = torch.nn.parallel.DistributedDataParallel(copy.deepcopy(plain))
        syncs: list[bool] = []

        class Probe(runnerkit.Hook):
            priority = "LOWEST"

            def before_train_iter(self, runner: Any) -> None:
                syncs.append(runner.model.require_backward_grad_sync)

        config = {"type": "GradientCumulativeOptimizerHook", "cumulative_iters": 2}
        runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": 5},
                                 {"model": wrapped, "optimizer": torch.optim.SGD(wrapped.parameters(), lr=0.1)})
        runner.register_training_hooks(None, config)
        runner.register_hook(Probe())
        runner.run([make_loader(8, batch_size=2)], [("train", 1)])
        _run(plain, torch.optim.SGD(plain.parameters(), lr=0.1), make_loader(8, batch_size=2), config, 5)
        assert syncs == [False, True, False, True, True]  # steps after iterations 2, 4 and the last
        assert wrapped.require_backward_grad_sync is True
        for a, b in zip(wrapped.module.parameters(), plain.parameters()):
            torch.testing.assert_close(a, b)
    finally:
        dist.destroy_process_group()
