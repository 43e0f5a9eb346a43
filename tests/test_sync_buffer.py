"""SyncBuffersHook: buffers averaged over processes after each epoch; a no-op without distributed."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from pydantic import ValidationError

import runnerkit
from runnerkit.hooks.sync_buffer import SyncBuffersHook, allreduce_buffers


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.bn = torch.nn.BatchNorm1d(2)
        self.register_buffer("flag", torch.tensor(False))

    def train_step(self, batch: Any, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        return {"loss": self.bn(batch).sum(), "log_vars": {}, "num_samples": len(batch)}


def make_runner(model: torch.nn.Module) -> runnerkit.EpochBasedRunner:
    return runnerkit.EpochBasedRunner(model=model, max_epochs=1)


def fill(model: Net, rank: int) -> None:
    torch.nn.init.constant_(model.bn.running_mean, float(rank + 1))
    torch.nn.init.constant_(model.bn.running_var, float(4 * rank + 2))
    model.bn.num_batches_tracked.fill_(3 * rank + 1)
    model.flag.fill_(bool(rank))


def test_without_distributed_the_buffers_are_left_as_they_are() -> None:
    model = Net()
    fill(model, rank=1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    hook = SyncBuffersHook()
    hook.after_train_epoch(make_runner(model))
    hook.after_val_epoch(make_runner(model))
    allreduce_buffers(model.buffers())
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name]), name


def test_distributed_must_be_a_bool() -> None:
    with pytest.raises(ValidationError, match=r"distributed\n  Input should be a valid boolean \(got `'yes'`\)"):
        SyncBuffersHook(distributed="yes")  # type: ignore[arg-type]


def test_it_runs_after_train_and_val_epochs_and_is_found_by_name() -> None:
    runner = make_runner(Net())
    runner.register_hook_from_cfg({"type": "SyncBuffersHook"})
    (hook,) = runner.hooks
    assert isinstance(hook, SyncBuffersHook)
    assert hook.get_triggered_stages() == ["after_train_epoch", "after_val_epoch"]


def _worker(rank: int, init_file: str, out_dir: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    try:
        synced, unsynced = Net(), Net()
        fill(synced, rank)
        fill(unsynced, rank)
        SyncBuffersHook().after_train_epoch(make_runner(synced))
        SyncBuffersHook(distributed=False).after_train_epoch(make_runner(unsynced))
        report = {
            name: {k: v.tolist() for k, v in model.state_dict().items()}
            for name, model in (("synced", synced), ("unsynced", unsynced))
        }
        Path(out_dir, f"rank{rank}.json").write_text(json.dumps(report))
    finally:
        dist.destroy_process_group()


def spawn_two(fn: Any, *args: Any, timeout: float = 90.0) -> None:
    """Run ``fn(rank, *args)`` in two processes (forked where possible); fail after ``timeout`` s."""
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    context = mp.start_processes(fn, args=args, nprocs=2, join=False, start_method=method)
    deadline = time.monotonic() + timeout
    while not context.join(timeout=1):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail(f"the two processes did not finish within {timeout} s")


@pytest.mark.slow
def test_two_processes_end_the_epoch_with_the_mean_of_their_buffers(tmp_path: Path) -> None:
    spawn_two(_worker, str(tmp_path / "init"), str(tmp_path))
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    for rank, report in enumerate(ranks):
        assert report["synced"] == {
            "bn.weight": [1.0, 1.0],
            "bn.bias": [0.0, 0.0],
            "bn.running_mean": [1.5, 1.5],  # mean of 1 and 2
            "bn.running_var": [4.0, 4.0],  # mean of 2 and 6
            "bn.num_batches_tracked": 2,  # floor of the mean of 1 and 4
            "flag": bool(rank),  # booleans are left alone
        }
    assert [r["unsynced"]["bn.running_mean"] for r in ranks] == [[1.0, 1.0], [2.0, 2.0]]
