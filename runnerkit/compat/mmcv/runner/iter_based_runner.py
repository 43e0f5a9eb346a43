"""mmcv 1.x's ``IterBasedRunner`` (runnerkit's) and ``IterLoader``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from runnerkit.runners.data import set_sampler_epoch
from runnerkit.runners.iter_based import IterBasedRunner

__all__ = ["IterBasedRunner", "IterLoader"]


class IterLoader:
    """Endless batches from a data loader; each new pass sets the sampler's epoch (mmcv).

    Example:
        >>> loader = IterLoader([1, 2])
        >>> [next(loader) for _ in range(3)], loader.epoch
        ([1, 2, 1], 1)
    """

    def __init__(self, dataloader: Any) -> None:
        self._dataloader = dataloader
        self.iter_loader: Iterator[Any] = iter(dataloader)
        self._epoch = 0

    @property
    def epoch(self) -> int:
        return self._epoch

    def __next__(self) -> Any:
        try:
            return next(self.iter_loader)
        except StopIteration:
            self._epoch += 1
            set_sampler_epoch(self._dataloader, self._epoch)
            self.iter_loader = iter(self._dataloader)
            return next(self.iter_loader)

    def __len__(self) -> int:
        return len(self._dataloader)
