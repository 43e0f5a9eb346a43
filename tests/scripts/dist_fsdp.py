"""FSDP2 jobs for tests/test_fsdp.py, run under torchrun (gloo, CPU).

usage (under ``python -m torch.distributed.run --standalone --nproc_per_node N``):

    dist_fsdp.py OUT train                   # 2 ranks: a DDP run, then an FSDP2 run (sharded async checkpoints
                                             # every 4 iterations, a gathered file checkpoint at iteration 4)
    dist_fsdp.py OUT resume NAME CKPT...     # resume each CKPT into an FSDP2 model, report what was loaded,
                                             # train to the end; writes OUT/NAME_<i>_rank<r>.pth
    dist_fsdp.py OUT slow                    # an FSDP2 run whose second sharded save is slow (to be killed)
    dist_fsdp.py OUT signal                  # background sharded saves, the first one slow (SIGTERM comes then)

Global batch 8 (4 per rank on 2 ranks, 8 on 1); EMA and gradient clipping are on, so their DTensor
paths run. :func:`train_single` is the one-process reference (plain model, batch 8).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

import runnerkit
from runnerkit import dist, launch
from runnerkit.parallel_fsdp import shard_model

SEED = 3
SAMPLES = 32
GLOBAL_BATCH = 8
MAX_ITERS = 8


class Points(Dataset):
    def __init__(self) -> None:
        g = torch.Generator().manual_seed(7)
        self.x = torch.randn(SAMPLES, 4, generator=g)
        self.y = self.x @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 0.1 * torch.randn(SAMPLES, generator=g)

    def __len__(self) -> int:
        return SAMPLES

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[i], self.y[i]


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(SEED)  # the same initial weights everywhere
        self.fc1 = torch.nn.Linear(4, 16)
        self.fc2 = torch.nn.Linear(16, 1)
        self.scale = torch.nn.Parameter(torch.ones(1))  # a parameter of the root module itself

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.fc2(torch.relu(self.fc1(x))).squeeze(-1)) * self.scale

    def train_step(self, batch: Any, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        x, y = batch
        loss = (self(x) - y).pow(2).mean()
        return {"loss": loss, "log_vars": {"loss": loss.detach()}, "num_samples": len(x)}


def loader(world_size: int) -> DataLoader[Any]:
    data = Points()
    batch = GLOBAL_BATCH // world_size
    if world_size == 1 and not dist.is_initialized():
        sampler = DistributedSampler(data, num_replicas=1, rank=0, shuffle=True, seed=SEED)
        return DataLoader(data, batch_size=batch, sampler=sampler)
    return launch.distributed_loader(DataLoader(data, batch_size=batch, shuffle=True), seed=SEED)  # type: ignore[no-any-return]


def build(model: torch.nn.Module, work_dir: str, checkpoint: dict[str, Any] | None = None,
          optimizer_config: dict[str, Any] | None = None) -> Any:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)  # after sharding: the DTensors
    runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": MAX_ITERS},
                             {"model": model, "optimizer": optimizer, "work_dir": work_dir})
    if dist.is_initialized():
        launch.prepare_runner(runner)
    runner.register_training_hooks(
        lr_config=None,
        optimizer_config=optimizer_config or {"grad_clip": {"max_norm": 1.0}},
        checkpoint_config=checkpoint or {"interval": 100, "by_epoch": False, "save_last": False},
        log_config={"interval": 2, "hooks": [{"type": "TextLoggerHook", "by_epoch": False}]},
        custom_hooks_config=[{"type": "EMAHook", "momentum": 0.1, "warm_up": 0}],
    )
    return runner


def full_weights(runner: Any) -> dict[str, torch.Tensor]:
    from runnerkit.checkpoint_sharded import full_model_state
    from runnerkit.parallel_fsdp import is_sharded

    model = dist.unwrap_model(runner.model)
    if is_sharded(model):
        return {k: v.clone() for k, v in full_model_state(model).items()}  # at 1 rank: views of the weights
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def ema_weights(runner: Any) -> dict[str, torch.Tensor]:
    hook = next(h for h in runner.hooks if type(h).__name__ == "EMAHook")
    return {k: v.clone() for k, v in hook.state_dict()["shadow"].items()}  # gathered whole on every rank


def train_single(work_dir: str, resume: str | None = None) -> Any:
    """One process, a plain model, batch 8: the reference (and the 1-process resume of a consolidated file)."""
    runner = build(Net(), work_dir)
    if resume:
        runner.resume(resume)
    runner.run([loader(1)], [("train", 1)])
    return runner


def train_job(out: Path, rank: int, world_size: int) -> None:
    ddp = build(torch.nn.parallel.DistributedDataParallel(Net()), str(out / "ddp"))
    ddp.run([loader(world_size)], [("train", 1)])
    ddp_weights, ddp_ema = full_weights(ddp), ema_weights(ddp)

    class GatheredFile(runnerkit.Hook):
        """At iteration 4, a file checkpoint of the sharded model (every rank gathers; rank 0 writes); at the
        last iteration, the weights its checkpoint holds."""

        priority = "VERY_LOW"

        def after_train_iter(self, runner: Any) -> None:
            if runner.iter + 1 == 4:
                runner.save_checkpoint(str(out / "file"), filename_tmpl="iter_{}.pth", sharded=False,
                                       create_symlink=False)
            if runner.iter + 1 == MAX_ITERS:  # what the last checkpoint holds (EMA swaps in its averages later)
                last.update(full_weights(runner))

    last: dict[str, torch.Tensor] = {}
    fsdp = build(shard_model(Net(), {"shard": ["fc1", "Linear"]}), str(out / "fsdp"),
                 {"interval": 4, "by_epoch": False, "async_save": True, "max_keep_ckpts": 2})
    fsdp.register_hook(GatheredFile())
    fsdp.run([loader(world_size)], [("train", 1)])
    weights, ema = full_weights(fsdp), ema_weights(fsdp)
    accumulated = {}
    for kind in ("ddp", "fsdp2"):  # gradient accumulation (FSDP2 reduce-scatters only when it steps), user-sharded
        model = torch.nn.parallel.DistributedDataParallel(Net()) if kind == "ddp" else user_sharded()
        runner = build(model, str(out / f"accumulate_{kind}"), optimizer_config={
            "type": "GradientCumulativeOptimizerHook", "cumulative_iters": 2, "grad_clip": {"max_norm": 1.0}})
        runner.run([loader(world_size)], [("train", 1)])
        accumulated[kind] = full_weights(runner)
    buffers = buffers_job(out, world_size)
    nan_report = nan_job(out, rank)
    if rank == 0:
        torch.save({"ddp": ddp_weights, "ddp_ema": ddp_ema, "fsdp": weights, "fsdp_ema": ema, "at_last": last,
                    "accumulated": accumulated, "buffers": buffers}, out / "final.pth")
        (out / "nan.json").write_text(json.dumps(nan_report))
        kinds = sorted({type(p).__name__ for p in fsdp.model.parameters()})
        (out / "train.json").write_text(json.dumps({"param_types": kinds, "world_size": world_size}))


def user_sharded() -> torch.nn.Module:
    """A model the user shards with torch's `fully_shard` alone, before handing it to a runner."""
    from torch.distributed.fsdp import fully_shard

    model = Net()
    for module in (model.fc1, model.fc2, model):
        fully_shard(module)
    return model


class NormNet(Net):
    """With a BatchNorm, whose running statistics each rank computes on its own data."""

    def __init__(self) -> None:
        super().__init__()
        self.norm = torch.nn.BatchNorm1d(16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.fc2(torch.relu(self.norm(self.fc1(x)))).squeeze(-1)) * self.scale


def buffers_job(out: Path, world_size: int) -> list[Any]:
    """Every rank's BatchNorm running mean after a sharded run with and without `SyncBuffersHook`."""
    found = []
    for sync in (False, True):
        runner = build(shard_model(NormNet()), str(out / f"buffers_{sync}"))
        if sync:
            runner.register_hook_from_cfg({"type": "SyncBuffersHook"})
        runner.run([loader(world_size)], [("train", 1)])
        found.append(dist.all_gather_object(runner.model.norm.running_mean.clone()))
    return found


def nan_job(out: Path, rank: int) -> list[Any]:
    """Rank 1's shard of `fc1.weight` turns NaN right before the checkpoint at iteration 4: every rank must stop."""

    class Corrupt(runnerkit.Hook):
        priority = 45  # after the optimizer step (40), before the checkpoint (50)

        def after_train_iter(self, runner: Any) -> None:
            if runner.iter + 1 == 4 and runner.rank == 1:
                with torch.no_grad():
                    runner.model.fc1.weight.to_local().view(-1)[0] = float("nan")

    runner = build(shard_model(Net()), str(out / "nan"), {"interval": 4, "by_epoch": False})
    runner.register_hook(Corrupt())
    try:
        runner.run([loader(2)], [("train", 1)])
        mine: Any = None
    except runnerkit.NonFiniteLossError as err:
        mine = {"message": str(err), "parameters": list(err.parameters), "iter": runner.iter}
    return dist.all_gather_object(mine)


def resume_job(out: Path, rank: int, world_size: int, name: str, checkpoints: list[str]) -> None:
    from runnerkit.checkpoint_async import snapshot
    from runnerkit.checkpoint_sharded import full_optimizer_state

    for i, ckpt in enumerate(checkpoints):
        runner = build(shard_model(Net()), str(out / f"{name}_{i}"), {"interval": 2, "by_epoch": False})
        runner.resume(ckpt)
        loaded = {"weights": full_weights(runner), "ema": ema_weights(runner),
                  "iter": runner.iter,
                  "optimizer": snapshot(full_optimizer_state(runner.model, runner.optimizer))}  # 1 rank: live views
        runner.run([loader(world_size)], [("train", 1)])
        if rank == 0:
            torch.save({**loaded, "final": full_weights(runner)}, out / f"{name}_{i}.pth")
        else:
            full_weights(runner)  # the gather is a collective


def slow_job(out: Path, rank: int, world_size: int) -> None:
    import torch.distributed.checkpoint as dcp

    writer_cls = dcp.FileSystemWriter
    original = writer_cls.write_data
    calls = [0]

    def slow_write(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] >= 2:  # the second save: slow enough to be killed in the middle
            (out / f"writing{rank}").write_text("")
            time.sleep(60)
        return original(self, *args, **kwargs)

    writer_cls.write_data = slow_write  # type: ignore[method-assign]
    runner = build(shard_model(Net()), str(out / "slow"), {"interval": 4, "by_epoch": False})
    runner.run([loader(world_size)], [("train", 1)])


def signal_job(out: Path, rank: int, world_size: int) -> None:
    """Background sharded saves every 2 iterations; the first one's write takes 3 s (the test sends SIGTERM then)."""
    import torch.distributed.checkpoint as dcp

    writer_cls = dcp.FileSystemWriter
    original = writer_cls.write_data
    calls = [0]

    def slow_write(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == 1:
            (out / f"writing{rank}").write_text(str(os.getpid()))
            time.sleep(3)
        return original(self, *args, **kwargs)

    class Record(runnerkit.Hook):
        priority = "LOWEST"

        def after_train_iter(self, runner: Any) -> None:
            if runner.iter + 1 == 2:
                weights = full_weights(runner)
                if rank == 0:
                    torch.save(weights, out / "weights_at_2.pth")
            time.sleep(0.05)

    writer_cls.write_data = slow_write  # type: ignore[method-assign]
    runner = build(shard_model(Net()), str(out / "signal"), {"interval": 2, "by_epoch": False, "async_save": True})
    runner.register_hook(Record())
    runner.run([loader(world_size)], [("train", 1)], max_iters=10_000)


def main() -> None:
    out, job = Path(sys.argv[1]), sys.argv[2]
    rank, world_size = dist.init_dist()
    try:
        if job == "train":
            train_job(out, rank, world_size)
        elif job == "resume":
            resume_job(out, rank, world_size, sys.argv[3], sys.argv[4:])
        elif job == "slow":
            slow_job(out, rank, world_size)
        elif job == "signal":
            signal_job(out, rank, world_size)
        else:
            raise SystemExit(f"unknown job {job!r}")
        dist.barrier()
    finally:
        dist.destroy_dist()
    os.environ.pop("RANK", None)


if __name__ == "__main__":
    main()
