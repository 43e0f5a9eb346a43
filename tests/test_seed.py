"""``runnerkit.seed_everything``: Python, NumPy, torch (and CUDA) seeded at once; determinism on request."""

from __future__ import annotations

import random
from collections.abc import Iterator

import numpy as np
import pytest
import torch

import runnerkit
from runnerkit.job import build_job


def draws() -> tuple[float, float, float]:
    return random.random(), float(np.random.rand()), float(torch.rand(()))


@pytest.fixture
def restore_determinism() -> Iterator[None]:
    before = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    yield
    torch.use_deterministic_algorithms(before[0])
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before[1], before[2]


def test_the_same_seed_gives_the_same_draws_from_every_generator() -> None:
    assert runnerkit.seed_everything(123) == 123
    first = draws()
    runnerkit.seed_everything(123)
    assert draws() == first
    runnerkit.seed_everything(124)
    assert all(a != b for a, b in zip(draws(), first))


def test_deterministic_turns_on_torch_deterministic_algorithms(restore_determinism: None) -> None:
    torch.use_deterministic_algorithms(False)
    runnerkit.seed_everything(0)
    assert not torch.are_deterministic_algorithms_enabled()  # False changes nothing
    runnerkit.seed_everything(0, deterministic=True)
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark


@pytest.mark.parametrize(("seed", "message"), [
    ("1", r"`seed` must be an int, got str `'1'`"),
    (True, r"`seed` must be an int, got bool `True`"),
    (1.5, r"`seed` must be an int, got float `1.5`"),
])
def test_a_seed_that_is_not_an_int_is_refused(seed: object, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        runnerkit.seed_everything(seed)  # type: ignore[arg-type]


def test_the_job_builder_seeds_with_it(monkeypatch: pytest.MonkeyPatch, restore_determinism: None) -> None:
    calls: list[tuple[int, bool]] = []
    real = runnerkit.seed_everything

    def spy(seed: int, deterministic: bool = False) -> int:
        calls.append((seed, deterministic))
        return real(seed, deterministic)

    monkeypatch.setattr("runnerkit.job.seed_everything", spy)
    cfg = {
        "seed": 5, "deterministic": True, "model": {"type": "DemoModel"},
        "data": {"samples_per_gpu": 8, "train": {"type": "DemoDataset", "num_samples": 16}},
        "runner": {"type": "IterBasedRunner", "max_iters": 1},
    }
    build_job(cfg)
    assert calls == [(5, True)]
    assert torch.are_deterministic_algorithms_enabled()


@pytest.mark.cuda
def test_cuda_draws_are_seeded_and_deterministic_mode_runs_cublas(restore_determinism: None) -> None:
    runnerkit.seed_everything(3, deterministic=True)
    a = torch.randn(64, 64, device="cuda")
    runnerkit.seed_everything(3, deterministic=True)
    b = torch.randn(64, 64, device="cuda")
    assert torch.equal(a, b)
    assert torch.equal(a @ a, b @ b)  # cuBLAS under deterministic algorithms: the workspace is configured
