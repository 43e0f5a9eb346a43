"""A NaN/inf loss stops training by the next log interval or checkpoint; no non-finite checkpoint is written."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch

import runnerkit
from runnerkit import NonFiniteLossError
from runnerkit.job import build_job
from tests.helpers import make_loader


class Spiky(torch.nn.Module):
    """A regressor whose loss (or an unused parameter) turns non-finite at a given step."""

    def __init__(self, bad_at: int | None = None, value: float = math.nan, poison_at: int | None = None,
                 step_with_bad_loss: bool = True) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(4, 1)
        self.unused = torch.nn.Parameter(torch.zeros(2))
        self.register_buffer("mask", torch.full((2,), -math.inf))  # buffers may hold -inf: never checked
        self.bad_at, self.value, self.poison_at, self.step_with_bad_loss = bad_at, value, poison_at, step_with_bad_loss
        self.calls = 0

    def train_step(self, batch: Any, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        x, y = batch
        loss = (self.fc(x).squeeze(-1) - y).pow(2).mean()
        logged = loss.detach()
        if self.calls == self.bad_at:
            logged = logged * self.value
            if self.step_with_bad_loss:
                loss = loss * self.value
        if self.calls == self.poison_at:
            with torch.no_grad():
                self.unused.fill_(math.inf)
        return {"loss": loss, "log_vars": {"loss": logged, "acc": torch.tensor(math.nan)}, "num_samples": len(x)}


def _runner(tmp_path: Path, model: Spiky, max_iters: int = 20, log_interval: int | None = 5, ckpt_interval: int = 4,
            **ckpt: Any) -> runnerkit.IterBasedRunner:
    runner = runnerkit.IterBasedRunner(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.01),
                                       work_dir=tmp_path, max_iters=max_iters)
    log_config = dict(interval=log_interval, hooks=[dict(type="TextLoggerHook")]) if log_interval else None
    runner.register_training_hooks(lr_config=None, optimizer_config=dict(grad_clip=None), log_config=log_config,
                                   checkpoint_config=dict(interval=ckpt_interval, by_epoch=False, **ckpt))
    return runner


def _checkpoints(tmp_path: Path) -> list[str]:
    return sorted((p.name for p in tmp_path.glob("iter_*.pth")), key=lambda n: int(n[5:-4]))


def _finite_weights(path: Path) -> bool:
    state = torch.load(path, weights_only=True)["state_dict"]
    return all(bool(torch.isfinite(v).all()) for k, v in state.items() if k != "mask")


def test_a_nan_loss_stops_training_at_the_next_log_interval_naming_it(tmp_path: Path) -> None:
    runner = _runner(tmp_path, Spiky(bad_at=7, step_with_bad_loss=False), ckpt_interval=100)
    with pytest.raises(NonFiniteLossError, match=r"NaN or infinite in iterations 6-10 \(`loss` = nan\)") as info:
        runner.run([make_loader(40)], [("train", 1)])
    assert (info.value.first_iter, info.value.last_iter) == (6, 10)
    assert runner.iter == 9 and runner.completed_iters == 10  # stopped in iteration 10, before another one
    assert math.isnan(info.value.values["loss"]) and "acc" not in info.value.values  # only losses are watched


def test_values_cleared_at_an_epoch_start_are_checked_at_the_next_log_line_without_a_read_before(tmp_path: Path) -> None:
    runner = _runner(tmp_path, Spiky(bad_at=7, step_with_bad_loss=False), ckpt_interval=100)
    with pytest.raises(NonFiniteLossError, match=r"in iterations 6-10 \(`loss` = nan\); no checkpoint was written"):
        runner.run([make_loader(16)], [("train", 1)])  # 8 batches: the epoch ends (and clears) before the log line at 10
    assert runner.iter == 9  # raised by the log line of the 10th iteration, before the counter moves on


def test_an_inf_loss_in_a_log_interval_stops_at_the_checkpoint_that_comes_first(tmp_path: Path) -> None:
    runner = _runner(tmp_path, Spiky(bad_at=6, value=math.inf), log_interval=5, ckpt_interval=8, max_keep_ckpts=2)
    with pytest.raises(NonFiniteLossError, match=r"iterations 6-8 \(`loss` = inf\); the checkpoint due now was not written"):
        runner.run([make_loader(16)], [("train", 1)])
    assert _checkpoints(tmp_path) == []  # iteration 8's checkpoint would have held NaN weights


def test_rotation_never_pushes_finite_checkpoints_out(tmp_path: Path) -> None:
    runner = _runner(tmp_path, Spiky(bad_at=11), log_interval=None, ckpt_interval=2, max_keep_ckpts=2, save_last=True)
    with pytest.raises(NonFiniteLossError, match=r"in iterations 11-12 \(`loss` = nan\)"):
        runner.run([make_loader(16)], [("train", 1)])
    assert _checkpoints(tmp_path) == ["iter_8.pth", "iter_10.pth"]
    assert all(_finite_weights(tmp_path / name) for name in _checkpoints(tmp_path))
    assert (tmp_path / "last_checkpoint").read_text().strip().endswith("iter_10.pth")


def test_non_finite_weights_are_never_saved_even_with_finite_losses(tmp_path: Path) -> None:
    runner = _runner(tmp_path, Spiky(poison_at=5), ckpt_interval=4)
    with pytest.raises(NonFiniteLossError, match=r"at iteration 8: the model's parameters hold NaN or infinite values \(`unused`\)") as info:
        runner.run([make_loader(16)], [("train", 1)])
    assert info.value.parameters == ["unused"]
    assert _checkpoints(tmp_path) == ["iter_4.pth"]


def test_a_save_called_by_hand_is_guarded_too(tmp_path: Path) -> None:
    model = Spiky()
    runner = _runner(tmp_path, model)
    runner.log_buffer.update({"loss_cls": torch.tensor(math.inf)})
    with pytest.raises(NonFiniteLossError, match=r"`loss_cls` = inf"):
        runner.save_checkpoint(tmp_path, "by_hand.pth")
    assert not (tmp_path / "by_hand.pth").exists()


def test_the_guard_can_be_turned_off(tmp_path: Path) -> None:
    runner = _runner(tmp_path, Spiky(bad_at=3), ckpt_interval=4, max_iters=8)
    runner.check_finite = False
    runner.run([make_loader(16)], [("train", 1)])
    assert _checkpoints(tmp_path) == ["iter_4.pth", "iter_8.pth"]
    assert not _finite_weights(tmp_path / "iter_8.pth")


def test_the_check_finite_config_key_reaches_the_runner(tmp_path: Path) -> None:
    cfg: dict[str, Any] = {
        "model": {"type": "tests.test_finite_guard:Spiky", "bad_at": 2},
        "data": {"samples_per_gpu": 4, "train": {"type": "DemoDataset", "num_samples": 32}},
        "optimizer": {"type": "SGD", "lr": 0.01},
        "runner": {"type": "IterBasedRunner", "max_iters": 4},
        "check_finite": False,
    }
    job = build_job(cfg, work_dir=tmp_path)
    assert job.runner.check_finite is False
    cfg.pop("check_finite")
    assert build_job(cfg, work_dir=tmp_path / "b").runner.check_finite is True


@pytest.mark.cuda
def test_losses_and_weights_on_the_gpu_are_checked_before_a_save(tmp_path: Path) -> None:
    model = Spiky().cuda()
    runner = runnerkit.IterBasedRunner(model=model, work_dir=tmp_path, max_iters=1)
    runner.log_buffer.update({"loss": torch.tensor(1.0, device="cuda")})
    runner.save_checkpoint(tmp_path, "fine.pth")  # finite values on the device: written
    runner.log_buffer.update({"loss": torch.tensor(math.nan, device="cuda")})
    with pytest.raises(NonFiniteLossError, match=r"`loss` = nan"):
        runner.save_checkpoint(tmp_path, "bad.pth")
    runner.log_buffer.clear_output()
    runner.check_finite = False
    runner.log_buffer.clear()
    runner.check_finite = True
    with torch.no_grad():
        model.fc.weight.fill_(math.inf)
    with pytest.raises(NonFiniteLossError, match=r"parameters hold NaN or infinite values \(`fc.weight`\)"):
        runner.save_checkpoint(tmp_path, "bad.pth")
    assert (tmp_path / "fine.pth").exists() and not (tmp_path / "bad.pth").exists()
