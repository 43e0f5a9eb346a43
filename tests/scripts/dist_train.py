"""Data-parallel training jobs for tests/test_distributed.py, run under torchrun (gloo, CPU).

usage (under ``python -m torch.distributed.run --standalone --nproc_per_node 2``); each rank
writes its final weights (and a report) into OUT/<job>/, checkpoints and logs go to OUT/<job>/work:

    dist_train.py OUT parity       # the user wraps the model in torch's DDP before `runnerkit.build`
                                   # (IterBasedRunner); global batch 8 = 2 ranks x 4 and no randomness,
                                   # so it equals one process with batch 8
    dist_train.py OUT exact        # `runnerkit.launch.launch` wraps it (EpochBasedRunner); dropout and
                                   # noisy data draw from each rank's RNGs; checkpoints every 5 iterations
    dist_train.py OUT exact --resume CKPT   # the same, resumed from CKPT (reports into OUT/resumed/)

:func:`train_single` is the one-process reference of the `parity` job (the test calls it in-process).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as torch_dist
from torch.utils.data import DataLoader, Dataset, DistributedSampler

import runnerkit
from runnerkit import dist, launch

SEED = 3
SAMPLES = 32  # 4 global batches of 8 per epoch
LOG_INTERVAL = 2


class Points(Dataset):
    """A fixed regression set; with ``noise``, each item draws augmentation noise from the global RNGs."""

    def __init__(self, noise: bool = False) -> None:
        g = torch.Generator().manual_seed(7)
        self.x = torch.randn(SAMPLES, 4, generator=g)
        self.y = self.x @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 0.1 * torch.randn(SAMPLES, generator=g)
        self.noise = noise

    def __len__(self) -> int:
        return SAMPLES

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.noise:
            return self.x[i], self.y[i]
        jitter = 0.01 * torch.randn(4) + 0.001 * float(np.random.rand()) + 0.001 * random.random()
        return self.x[i] + jitter, self.y[i]


class Net(torch.nn.Module):
    def __init__(self, dropout: float = 0.0) -> None:
        super().__init__()
        self.fc1 = torch.nn.Linear(4, 8)
        self.drop = torch.nn.Dropout(dropout)
        self.fc2 = torch.nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.drop(torch.relu(self.fc1(x)))).squeeze(-1)

    def train_step(self, batch: Any, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        x, y = batch
        loss = (self(x) - y).pow(2).mean()  # calls forward through the module: must not recurse into train_step
        return {"loss": loss, "log_vars": {"loss": loss.detach()}, "num_samples": len(x)}


class Record(runnerkit.Hook):
    """Each iteration's local loss (read back at the end: a test hook, not a training one)."""

    priority = "LOWEST"

    def __init__(self) -> None:
        self.losses: list[torch.Tensor] = []

    def after_train_iter(self, runner: Any) -> None:
        self.losses.append(runner.outputs["log_vars"]["loss"])


def _seed(rank: int) -> None:
    torch.manual_seed(SEED + rank)  # each rank its own RNGs; DDP gives every rank rank 0's initial weights
    np.random.seed(100 + rank)
    random.seed(100 + rank)


def _runner(kind: str, model: Any, work_dir: str, **limits: int) -> Any:
    optimizer = torch.optim.SGD(dist.unwrap_model(model).parameters(), lr=0.05, momentum=0.9)
    return runnerkit.build({"type": kind, **limits}, {"model": model, "optimizer": optimizer, "work_dir": work_dir})


def _hooks(runner: Any, checkpoint_interval: int) -> Record:
    runner.register_training_hooks(
        lr_config=None,
        optimizer_config={},
        checkpoint_config={"interval": checkpoint_interval, "by_epoch": False},
        log_config={"interval": LOG_INTERVAL, "hooks": [{"type": "TextLoggerHook", "by_epoch": False}]},
    )
    record = Record()
    runner.register_hook(record)
    return record


def train_single(work_dir: str) -> dict[str, torch.Tensor]:
    """The `parity` job in one process: batch 8 in the order the two ranks' samplers deal together."""
    _seed(0)
    data = Points()
    loader = DataLoader(data, batch_size=8, sampler=DistributedSampler(data, num_replicas=1, rank=0, shuffle=True, seed=SEED))
    runner = _runner("IterBasedRunner", Net(), work_dir, max_iters=12)
    _hooks(runner, checkpoint_interval=100)
    runner.run([loader], [("train", 1)])
    return {k: v.clone() for k, v in runner.model.state_dict().items()}


# -- under torchrun -------------------------------------------------------------------------------


def _audit(work_dir: str, log: list[str]) -> None:
    """Record every file this process creates, writes, renames or removes inside ``work_dir``."""
    root = os.path.realpath(work_dir)
    writes = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

    def inside(path: Any) -> bool:
        try:
            return isinstance(path, (str, bytes, os.PathLike)) and os.path.realpath(os.fsdecode(path)).startswith(root)
        except (TypeError, ValueError):
            return False

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "open" and inside(args[0]):
            mode, flags = args[1], args[2]
            if (isinstance(mode, str) and any(c in mode for c in "wax+")) or (mode is None and isinstance(flags, int) and flags & writes):
                log.append(f"open {args[0]}")
        elif event in ("os.rename", "os.replace", "os.remove", "os.symlink", "os.truncate") and inside(args[0]):
            log.append(f"{event} {args[0]}")

    sys.addaudithook(hook)


def _collective_log(runner_ref: list[Any], calls: list[int]) -> None:
    """Note the training iteration of every ``torch.distributed.all_reduce`` on the default group.

    (The runner's signal-stop agreement exchanges a flag every iteration on a gloo group of its own.)
    """
    original = torch_dist.all_reduce

    def counted(*args: Any, **kwargs: Any) -> Any:
        if runner_ref and kwargs.get("group") is None and len(args) < 3:
            calls.append(runner_ref[0].iter)
        return original(*args, **kwargs)

    torch_dist.all_reduce = counted  # type: ignore[assignment]


def parity_job(out: Path, rank: int, world_size: int) -> None:
    work = out / "parity" / "work"
    work.parent.mkdir(parents=True, exist_ok=True)
    audit: list[str] = []
    _audit(str(work), audit)
    _seed(rank)
    data = Points()
    # mmcv style: the user wraps the model in torch's DDP before `runnerkit.build`
    model = torch.nn.parallel.DistributedDataParallel(Net())
    loader = launch.distributed_loader(DataLoader(data, batch_size=4, shuffle=True), seed=SEED)
    runner = _runner("IterBasedRunner", model, str(work), max_iters=12)
    launch.prepare_runner(runner)
    record = _hooks(runner, checkpoint_interval=5)
    runner_ref: list[Any] = [runner]
    calls: list[int] = []
    _collective_log(runner_ref, calls)
    runner.run([loader], [("train", 1)])
    runner_ref.clear()
    if rank == 0:  # mmcv style: rank 0 alone saves; must not wait for the others
        runner.save_checkpoint(out / "parity" / "extra")
    dist.barrier()
    torch.save(dist.unwrap_model(runner.model).state_dict(), out / "parity" / f"rank{rank}.pth")
    report = {
        "rank": rank, "world_size": world_size, "runner_rank": runner.rank, "runner_world_size": runner.world_size,
        "sampler": type(loader.sampler).__name__, "losses": [float(x) for x in record.losses],
        "all_reduce_at_iters": calls, "audit": audit,
    }
    (out / "parity" / f"rank{rank}.json").write_text(json.dumps(report))


def exact_job(out: Path, rank: int, resume: str | None) -> None:
    name = "resumed" if resume else "exact"
    _seed(rank)
    data = Points(noise=True)
    model, (loader,) = launch.launch(Net(dropout=0.3), [DataLoader(data, batch_size=4, shuffle=True)], seed=SEED)
    runner = _runner("EpochBasedRunner", model, str(out / "exact" / "work"), max_epochs=3)
    launch.prepare_runner(runner)
    _hooks(runner, checkpoint_interval=5)
    if resume:
        runner.resume(resume)
    runner.run([loader], [("train", 1)])
    (out / name).mkdir(parents=True, exist_ok=True)
    torch.save(dist.unwrap_model(runner.model).state_dict(), out / name / f"rank{rank}.pth")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("job", choices=["parity", "exact"])
    parser.add_argument("--resume")
    args = parser.parse_args()
    rank, world_size = dist.init_dist()
    if args.job == "parity":
        parity_job(args.out, rank, world_size)
    else:
        exact_job(args.out, rank, args.resume)
    dist.barrier()
    dist.destroy_dist()


if __name__ == "__main__":
    main()
