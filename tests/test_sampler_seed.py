"""DistSamplerSeedHook: the sampler's epoch is set before every train and val epoch (mmcv)."""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import BatchSampler, DataLoader, DistributedSampler, SequentialSampler

import runnerkit
from runnerkit.hooks.sampler_seed import DistSamplerSeedHook, find_epoch_sampler
from runnerkit.runners.data import PassIterator


class RecordingSampler(DistributedSampler[int]):
    """A real DistributedSampler that remembers the epochs it was given and the orders it dealt."""

    def __init__(self, n: int) -> None:
        super().__init__(list(range(n)), num_replicas=1, rank=0, shuffle=True, seed=3)
        self.epochs: list[int] = []
        self.orders: list[list[int]] = []

    def set_epoch(self, epoch: int) -> None:
        self.epochs.append(epoch)
        super().set_epoch(epoch)

    def __iter__(self) -> Any:
        order = list(super().__iter__())
        self.orders.append(order)
        return iter(order)


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def train_step(self, batch: torch.Tensor, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        loss = (self.w * batch.float()).sum()
        return {"loss": loss, "log_vars": {}, "num_samples": len(batch)}

    val_step = train_step


def runner(max_epochs: int = 3) -> runnerkit.EpochBasedRunner:
    return runnerkit.EpochBasedRunner(model=Net(), max_epochs=max_epochs)


def test_the_loaders_sampler_gets_the_runners_epoch_before_train_and_val_epochs() -> None:
    sampler = RecordingSampler(4)
    r = runner()
    r.data_loader = DataLoader(list(range(4)), sampler=sampler)
    hook = DistSamplerSeedHook()
    r.loop.epoch = 2
    hook.before_train_epoch(r)
    r.loop.epoch = 3
    hook.before_val_epoch(r)
    assert sampler.epochs == [2, 3]


def test_the_batch_samplers_sampler_is_used_when_the_loader_has_a_batch_sampler() -> None:
    sampler = RecordingSampler(4)
    r = runner()
    r.data_loader = DataLoader(list(range(4)), batch_sampler=BatchSampler(sampler, batch_size=2, drop_last=False))
    r.loop.epoch = 5
    DistSamplerSeedHook().before_train_epoch(r)
    assert sampler.epochs == [5]


def test_loader_wrappers_are_looked_through_and_loaders_without_set_epoch_are_left_alone() -> None:
    sampler = RecordingSampler(4)
    wrapped = PassIterator(DataLoader(list(range(4)), sampler=sampler), set_epoch=False)
    assert find_epoch_sampler(wrapped) is sampler
    plain = DataLoader(list(range(4)), sampler=SequentialSampler(range(4)))
    assert find_epoch_sampler(plain) is None
    assert find_epoch_sampler([1, 2]) is None
    r = runner()
    r.data_loader = None  # before the first epoch of some loops
    DistSamplerSeedHook().before_train_epoch(r)
    r.data_loader = plain
    DistSamplerSeedHook().before_train_epoch(r)


def test_with_the_epoch_runner_every_epoch_gets_a_new_shuffle() -> None:
    sampler = RecordingSampler(8)
    r = runner(max_epochs=3)
    r.register_hook_from_cfg({"type": "DistSamplerSeedHook"})
    r.run([DataLoader(list(range(8)), sampler=sampler, batch_size=4)], [("train", 1)])
    assert sampler.epochs == [0, 1, 2]
    assert len({tuple(order) for order in sampler.orders}) == 3
    assert r.hooks[0].priority == 50  # NORMAL
