"""``DistSamplerSeedHook``: a new shuffle every epoch for distributed samplers (mmcv 1.x)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from runnerkit.hooks.hook import Hook

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = ["DistSamplerSeedHook", "find_epoch_sampler"]


def find_epoch_sampler(loader: Any) -> Any | None:
    """The sampler of ``loader`` that has ``set_epoch`` (its ``sampler``, else its batch sampler's).

    Loader wrappers that keep the real loader as ``loader`` or ``_dataloader`` (runnerkit's
    pass iterator, mmcv's ``IterLoader``) are looked through. ``None`` when there is no such sampler.
    """
    seen: set[int] = set()
    while loader is not None and id(loader) not in seen:
        seen.add(id(loader))
        for sampler in (getattr(loader, "sampler", None), getattr(getattr(loader, "batch_sampler", None), "sampler", None)):
            if hasattr(sampler, "set_epoch"):
                return sampler
        loader = getattr(loader, "loader", None) or getattr(loader, "_dataloader", None)
    return None


class DistSamplerSeedHook(Hook):
    """Call ``set_epoch(runner.epoch)`` on the data loader's sampler before every epoch.

    ``torch.utils.data.DistributedSampler`` shuffles with a seed derived from its epoch; without
    this hook every epoch sees the same order. The sampler is ``runner.data_loader.sampler``, or
    the batch sampler's ``sampler`` when the loader was built with a ``batch_sampler`` (mmcv).
    Loaders without such a sampler are left alone. Runs before train and val epochs.

    Example:
        >>> hook = DistSamplerSeedHook()
        >>> hook.priority
        'NORMAL'
    """

    priority: ClassVar[int | str] = "NORMAL"

    def before_epoch(self, runner: BaseRunner) -> None:
        sampler = find_epoch_sampler(runner.data_loader)
        if sampler is not None:
            sampler.set_epoch(runner.epoch)
