"""Empty loaders and a missing ``val_step`` are refused before anything trains or is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import runnerkit
from runnerkit.hooks.evaluation import EvalHook
from tests.helpers import TinyNet, make_loader


class TrainOnly(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(4, 1)

    def train_step(self, batch: Any, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        loss = self.fc(batch[0]).pow(2).mean()
        return {"loss": loss, "log_vars": {"loss": loss.detach()}, "num_samples": len(batch[0])}


def _runner(tmp_path: Path, model: torch.nn.Module | None = None, by_epoch: bool = False) -> runnerkit.BaseRunner:
    model = model or TinyNet()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    if by_epoch:
        runner: runnerkit.BaseRunner = runnerkit.EpochBasedRunner(model=model, optimizer=optimizer, work_dir=tmp_path, max_epochs=2)
    else:
        runner = runnerkit.IterBasedRunner(model=model, optimizer=optimizer, work_dir=tmp_path, max_iters=4)
    runner.register_training_hooks(lr_config=None, optimizer_config=dict(grad_clip=None),
                                   checkpoint_config=dict(interval=1, by_epoch=by_epoch))
    return runner


def _empty_loader() -> DataLoader:
    ds = TensorDataset(torch.randn(3, 4), torch.randn(3))
    return DataLoader(ds, batch_size=4, drop_last=True)  # 3 samples, batches of 4: no batch at all


@pytest.mark.parametrize("by_epoch", [False, True])
def test_an_empty_training_loader_is_refused_naming_its_phase(tmp_path: Path, by_epoch: bool) -> None:
    runner = _runner(tmp_path, by_epoch=by_epoch)
    with pytest.raises(ValueError, match=r"workflow phase 0 \(`train`, `data_loaders\[0\]`\) is empty.*3 sample.*drop_last=True"):
        runner.run([_empty_loader()], [("train", 1)])
    assert not list(tmp_path.glob("*.pth"))


def test_an_empty_list_of_batches_is_refused_as_a_val_loader(tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    with pytest.raises(ValueError, match=r"workflow phase 1 \(`val`, `data_loaders\[1\]`\) is empty"):
        runner.run([make_loader(), []], [("train", 2), ("val", 1)])
    assert not list(tmp_path.glob("*.pth"))


def test_a_val_phase_needs_the_models_val_step(tmp_path: Path) -> None:
    runner = _runner(tmp_path, TrainOnly())
    with pytest.raises(TypeError, match=r"phase 1 is `val`, but the model \(TrainOnly\) has no `val_step"):
        runner.run([make_loader(), make_loader()], [("train", 2), ("val", 1)])
    assert not list(tmp_path.glob("*.pth"))


def test_an_eval_hook_without_val_step_fails_before_training(tmp_path: Path) -> None:
    runner = _runner(tmp_path, TrainOnly())
    runner.register_hook(EvalHook(make_loader(), interval=2, by_epoch=False))
    with pytest.raises(TypeError, match=r"EvalHook evaluates with `model.val_step.*model \(TrainOnly\) has no `val_step`"):
        runner.run([make_loader()], [("train", 1)])
    assert runner.iter == 0 and not list(tmp_path.glob("*.pth"))


def test_an_eval_hook_with_an_empty_loader_fails_before_training(tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    runner.register_hook(EvalHook(_empty_loader(), interval=2, by_epoch=False))
    with pytest.raises(ValueError, match=r"EvalHook's `dataloader` is empty"):
        runner.run([make_loader()], [("train", 1)])
    assert runner.iter == 0 and not list(tmp_path.glob("*.pth"))


def test_an_eval_hook_with_its_own_test_fn_needs_no_val_step(tmp_path: Path) -> None:
    runner = _runner(tmp_path, TrainOnly())
    seen: list[int] = []

    def test_fn(model: torch.nn.Module, loader: Any) -> list[Any]:
        seen.append(1)
        return [{"log_vars": {"n": 1.0}, "num_samples": 1}]

    runner.register_hook(EvalHook(make_loader(), interval=2, by_epoch=False, test_fn=test_fn))
    runner.run([make_loader()], [("train", 1)])
    assert len(seen) == 2


class Nothing(torch.utils.data.IterableDataset):  # type: ignore[type-arg]
    def __iter__(self) -> Any:
        return iter(())


def test_a_loader_without_length_that_yields_nothing_is_named_at_its_first_pass(tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    with pytest.raises(ValueError, match=r"workflow phase 0 \(`train`, `data_loaders\[0\]`\) yielded no batch in a whole pass"):
        runner.run([DataLoader(Nothing(), batch_size=2)], [("train", 1)])
    assert runner.iter == 0 and not list(tmp_path.glob("*.pth"))
