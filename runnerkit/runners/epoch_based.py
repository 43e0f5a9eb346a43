"""``EpochBasedRunner``: trains for ``max_epochs`` epochs (mmcv 1.x semantics)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

from runnerkit.runners.base import BaseRunner
from runnerkit.runners.data import PassIterator
from runnerkit.runners.workflow import check_workflow, deprecated_max

__all__ = ["EpochBasedRunner"]


class EpochBasedRunner(BaseRunner):
    """Epoch-based runner: the workflow counts epochs.

    ``run([train_loader, val_loader], [("train", 2), ("val", 1)])`` trains two epochs, then
    validates one, until ``max_epochs``. ``max_iters`` becomes ``max_epochs * len(train_loader)``.

    Example:
        >>> runner = runnerkit.build(dict(type="EpochBasedRunner", max_epochs=12),
        ...                          default_args=dict(model=model, optimizer=optimizer))
        >>> runner.run([train_loader], [("train", 1)])
    """

    by_epoch = True
    default_filename_tmpl = "epoch_{}.pth"

    def run(self, data_loaders: list[Any], workflow: list[tuple[str, int]], max_epochs: int | None = None, **kwargs: Any) -> None:
        """Alternate the workflow's phases until ``max_epochs`` training epochs are done."""
        loop = self.loop
        flows = check_workflow(data_loaders, workflow, self)
        loop.max_epochs = deprecated_max(max_epochs, "max_epochs", loop.max_epochs)
        if loop.max_epochs is None:
            raise ValueError("EpochBasedRunner needs `max_epochs` (pass it to the runner: `dict(type='EpochBasedRunner', max_epochs=N)`).")
        for i, (mode, _) in enumerate(flows):
            if mode == "train":
                loop.max_iters = loop.max_epochs * len(data_loaders[i])
                break
        else:
            if loop.epoch < loop.max_epochs:
                raise ValueError(f"The workflow {flows} has no 'train' phase, so `max_epochs` could never be reached.")
        self._run_workflow(data_loaders, flows, "epochs", loop.max_epochs, kwargs)

    def _finished(self) -> bool:
        return self.loop.epoch >= (self.loop.max_epochs or 0)

    def _start_epoch(self, data_loader: Any, mode: str) -> tuple[PassIterator, bool]:
        """Set the runner up for a pass over ``data_loader``; whether it continues a resumed pass."""
        self.mode = mode
        iterator = data_loader if isinstance(data_loader, PassIterator) else PassIterator(data_loader, set_epoch=False)
        self.data_loader = iterator.loader
        self.epoch_length = len(iterator.loader)
        return iterator, iterator.started

    @staticmethod
    def _batches(iterator: PassIterator) -> Iterator[Any]:
        """Yield the pass's batches; a resumed pass continues where the checkpoint left it."""
        if not iterator.started:
            iterator.start_pass()
        while True:
            try:
                yield iterator.next_in_pass()
            except StopIteration:
                iterator.end_pass()
                return

    def train(self, data_loader: Any, **kwargs: Any) -> None:
        """One training epoch."""
        loop = self.loop
        self.model.train()
        iterator, resumed = self._start_epoch(data_loader, "train")
        loop.max_iters = (loop.max_epochs or 0) * self.epoch_length
        if resumed:
            loop.inner_iter = iterator.consumed
        self.call_hook("before_train_epoch")
        if not resumed:
            loop.inner_iter = 0
        if not iterator.started:
            iterator.start_pass()
        self._train_loop(iterator, 0, kwargs)
        iterator.end_pass()
        loop.inner_iter = max(loop.inner_iter - 1, 0)  # mmcv leaves inner_iter at the last index
        loop.epoch_done = True
        self.call_hook("after_train_epoch")
        loop.epoch_done = False
        loop.epoch += 1

    @torch.no_grad()
    def val(self, data_loader: Any, **kwargs: Any) -> None:
        """One validation epoch."""
        loop = self.loop
        self.model.eval()
        iterator, _ = self._start_epoch(data_loader, "val")
        self.call_hook("before_val_epoch")
        loop.inner_iter = 0
        for data_batch in self._batches(iterator):
            self._val_iter(data_batch, kwargs)
        loop.inner_iter = max(loop.inner_iter - 1, 0)
        self.call_hook("after_val_epoch")
