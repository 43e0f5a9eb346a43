"""GPU checks (skipped cleanly without CUDA): mixed precision and CPU-side resume of GPU checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

import runnerkit
from tests.helpers import TinyNet

pytestmark = pytest.mark.cuda


def _cuda_batches(n: int = 4) -> list[Any]:
    g = torch.Generator().manual_seed(0)
    return [(torch.randn(8, 4, generator=g).cuda(), torch.randn(8, generator=g).cuda()) for _ in range(n)]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_amp_trains_on_cuda_and_saves_the_scaler(work_dir: Path, dtype: str) -> None:
    model = TinyNet().cuda()
    before = model.fc.weight.detach().clone()
    runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": 4},
                             {"model": model, "optimizer": torch.optim.SGD(model.parameters(), lr=0.1), "work_dir": work_dir})
    runner.register_training_hooks(None, {"type": "AmpOptimizerHook", "dtype": dtype}, {"interval": 4})
    runner.run([_cuda_batches()], [("train", 1)])
    assert not torch.equal(before, model.fc.weight)
    ckpt = torch.load(work_dir / "iter_4.pth", weights_only=True, map_location="cpu")
    assert ("scaler" in ckpt["runnerkit"]["hooks"]["AmpOptimizerHook"]) == (dtype == "float16")


def test_a_gpu_checkpoint_resumes_on_the_cpu(work_dir: Path) -> None:
    model = TinyNet().cuda()
    runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": 2},
                             {"model": model, "optimizer": torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), "work_dir": work_dir})
    runner.register_training_hooks(None, {}, {"interval": 2})
    runner.run([_cuda_batches()], [("train", 1)])
    cpu_model = TinyNet()
    cpu_runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": 2},
                                 {"model": cpu_model, "optimizer": torch.optim.SGD(cpu_model.parameters(), lr=0.1, momentum=0.9)})
    cpu_runner.resume(work_dir / "iter_2.pth")
    assert torch.equal(cpu_model.fc.weight, model.fc.weight.cpu())
    assert cpu_runner.iter == 2
