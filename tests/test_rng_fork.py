"""Evaluation runs under forked RNG states: it never changes what training draws."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import runnerkit
from runnerkit.hooks.evaluation import DistEvalHook, EvalHook
from runnerkit.rng import forked_rng

np = pytest.importorskip("numpy")


class NoisyNet(torch.nn.Module):
    """Draws from torch, Python and NumPy in both steps, as augmentation and sampling do."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(4, 1)
        self.val_calls = 0

    def train_step(self, batch: Any, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        x, y = batch
        x = x + 0.1 * torch.randn_like(x) + random.random() + float(np.random.rand())
        loss = (self.fc(x).squeeze(-1) - y).pow(2).mean()
        return {"loss": loss, "log_vars": {"loss": loss.detach()}, "num_samples": len(x)}

    def val_step(self, batch: Any, optimizer: Any = None, **kwargs: Any) -> dict[str, Any]:
        self.val_calls += 1
        x, y = batch
        noise = torch.randn(3).sum() + random.random() + float(np.random.rand())  # draws, as test-time augmentation
        loss = (self.fc(x).squeeze(-1) - y).pow(2).mean() + 0 * noise
        return {"loss": loss, "log_vars": {"val_loss": loss.detach()}, "num_samples": len(x)}


def _loader(n: int = 12, batch_size: int = 3) -> DataLoader:
    g = torch.Generator().manual_seed(1)
    ds = TensorDataset(torch.randn(n, 4, generator=g), torch.randn(n, generator=g))
    return DataLoader(ds, batch_size=batch_size, shuffle=True)  # shuffles from torch's global RNG


def _seed() -> None:
    torch.manual_seed(0)
    random.seed(0)
    np.random.seed(0)


def _train_iters(tmp_path: Path, eval_interval: int | None, max_iters: int = 12,
                 hook: type[EvalHook] = EvalHook) -> tuple[dict[str, torch.Tensor], int]:
    _seed()
    model = NoisyNet()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    runner = runnerkit.IterBasedRunner(model=model, optimizer=optimizer, work_dir=tmp_path / f"w{eval_interval}", max_iters=max_iters)
    runner.register_training_hooks(lr_config=None, optimizer_config=dict(grad_clip=None))
    if eval_interval is not None:
        runner.register_hook(hook(_loader(9), interval=eval_interval, by_epoch=False))
    runner.run([_loader()], [("train", 1)])
    return {k: v.clone() for k, v in model.state_dict().items()}, model.val_calls


def _equal(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_forked_rng_restores_every_generator_even_when_the_block_raises() -> None:
    _seed()
    expected = (torch.rand(2), random.random(), np.random.rand())
    _seed()
    with pytest.raises(RuntimeError, match="boom"), forked_rng():
        torch.rand(5), random.random(), np.random.rand(4)
        raise RuntimeError("boom")
    got = (torch.rand(2), random.random(), np.random.rand())
    assert torch.equal(got[0], expected[0]) and got[1:] == expected[1:]


def test_forked_block_draws_what_it_would_have_drawn_without_the_fork() -> None:
    _seed()
    plain = torch.rand(3)
    _seed()
    with forked_rng():
        forked = torch.rand(3)
    assert torch.equal(plain, forked)  # seeded runs evaluate the same way each time


def test_disabled_fork_leaves_the_draws_to_the_caller() -> None:
    _seed()
    with forked_rng(enabled=False):
        torch.rand(1)
    after = torch.rand(1)
    _seed()
    torch.rand(1)
    assert torch.equal(after, torch.rand(1))


def test_final_weights_do_not_depend_on_the_evaluation_interval(tmp_path: Path) -> None:
    none, calls_none = _train_iters(tmp_path, None)
    every, calls_every = _train_iters(tmp_path, 1)
    third, calls_third = _train_iters(tmp_path, 3)
    assert calls_none == 0 and calls_every == 12 * 3 and calls_third == 4 * 3  # evaluation really ran
    assert _equal(none, every) and _equal(none, third)
    dist_every, _ = _train_iters(tmp_path, 1, hook=DistEvalHook)
    assert _equal(none, dist_every)


def test_val_phases_of_the_workflow_do_not_move_training(tmp_path: Path) -> None:
    def train(workflow: list[tuple[str, int]], runner_type: type[runnerkit.BaseRunner], **limit: int) -> dict[str, torch.Tensor]:
        _seed()
        model = NoisyNet()
        runner = runner_type(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.05), **limit)
        runner.register_training_hooks(lr_config=None, optimizer_config=dict(grad_clip=None))
        loaders = [_loader() if mode == "train" else _loader(6, 2) for mode, _ in workflow]
        runner.run(loaders, workflow)
        assert (model.val_calls > 0) == (len(workflow) > 1)
        return {k: v.clone() for k, v in model.state_dict().items()}

    assert _equal(train([("train", 1)], runnerkit.IterBasedRunner, max_iters=10),
                  train([("train", 3), ("val", 2)], runnerkit.IterBasedRunner, max_iters=10))
    assert _equal(train([("train", 1)], runnerkit.EpochBasedRunner, max_epochs=3),
                  train([("train", 1), ("val", 1)], runnerkit.EpochBasedRunner, max_epochs=3))


def test_run_resumed_between_evaluations_ends_bit_identical(tmp_path: Path) -> None:
    def run(work_dir: Path, max_iters: int, resume: Path | None = None) -> dict[str, torch.Tensor]:
        _seed()
        model = NoisyNet()
        runner = runnerkit.IterBasedRunner(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.05),
                                           work_dir=work_dir, max_iters=max_iters)
        runner.register_training_hooks(lr_config=None, optimizer_config=dict(grad_clip=None),
                                       checkpoint_config=dict(interval=3, by_epoch=False))
        runner.register_hook(EvalHook(_loader(9), interval=3, by_epoch=False))
        if resume is not None:
            runner.resume(resume)
        runner.run([_loader()], [("train", 1)])
        return {k: v.clone() for k, v in model.state_dict().items()}

    full = run(tmp_path / "full", 14)
    run(tmp_path / "cut", 8)
    # saved at 6 before the evaluation at 6 drew (CheckpointHook runs first): the saved RNG states
    # must be those training continues with
    resumed = run(tmp_path / "cut", 14, resume=tmp_path / "cut" / "iter_6.pth")
    assert _equal(full, resumed)


@pytest.mark.cuda
def test_forked_rng_restores_the_cuda_generators() -> None:
    torch.cuda.manual_seed_all(0)
    expected = torch.rand(4, device="cuda")
    torch.cuda.manual_seed_all(0)
    with forked_rng():
        torch.rand(100, device="cuda")
    assert torch.equal(torch.rand(4, device="cuda"), expected)
