"""``EpochBasedRunner``: trains for ``max_epochs`` epochs (mmcv 1.x semantics)."""

from __future__ import annotations

from typing import Any

import torch

from runnerkit.rng import forked_rng
from runnerkit.runners.base import BaseRunner
from runnerkit.runners.data import PassIterator
from runnerkit.runners.interrupt import stop_on_signals
from runnerkit.runners.workflow import check_workflow, deprecated_max


class EpochBasedRunner(BaseRunner):
    """Epoch-based runner: the workflow counts epochs.

    ``run([train_loader, val_loader], [("train", 2), ("val", 1)])`` trains two epochs, then
    validates one, until ``max_epochs``. ``max_iters`` becomes ``max_epochs * len(train_loader)``.

    Example:
        >>> runner = runnerkit.build(dict(type="EpochBasedRunner", max_epochs=12),
        ...                          default_args=dict(model=model, optimizer=optimizer))
        >>> runner.run([train_loader], [("train", 1)])
    """

    default_filename_tmpl = "epoch_{}.pth"

    def _flow_step_done(self) -> bool:
        return self._epoch_done

    def run(self, data_loaders: list[Any], workflow: list[tuple[str, int]], max_epochs: int | None = None, **kwargs: Any) -> None:
        """Alternate the workflow's phases until ``max_epochs`` training epochs are done."""
        flows = check_workflow(data_loaders, workflow, self)
        self._max_epochs = deprecated_max(max_epochs, "max_epochs", self._max_epochs)
        if self._max_epochs is None:
            raise ValueError("EpochBasedRunner needs `max_epochs` (pass it to the runner: `dict(type='EpochBasedRunner', max_epochs=N)`).")
        for i, (mode, _) in enumerate(flows):
            if mode == "train":
                self._max_iters = self._max_epochs * len(data_loaders[i])
                break
        else:
            if self._epoch < self._max_epochs:
                raise ValueError(f"The workflow {flows} has no 'train' phase, so `max_epochs` could never be reached.")
        self._log_start(flows, "epochs", self._max_epochs)
        self._pass_iterators = {
            i: PassIterator(loader, epoch=self._epoch, set_epoch=False) for i, loader in enumerate(data_loaders)
        }
        self._restore_run_state()
        with stop_on_signals(self):  # SIGTERM / SIGINT: finish the iteration, save, exit 143 / 130
            self.call_hook("before_run")
            while self._epoch < self._max_epochs and self._stop_reason is None:
                for i, (mode, epochs), done in self._flow_positions(flows):
                    step = getattr(self, mode)
                    with forked_rng(enabled=mode != "train"):  # validation never moves training's RNGs
                        for n in range(done, epochs):
                            if (mode == "train" and self._epoch >= self._max_epochs) or self._stop_reason is not None:
                                break
                            self._flow_cursor = (i, n)
                            step(self._pass_iterators[i], **kwargs)
            self.call_hook("after_run")

    def _iterate(self, loader: Any) -> Any:
        """Yield the pass's batches; a resumed pass continues where the checkpoint left it."""
        iterator = loader if isinstance(loader, PassIterator) else PassIterator(loader, set_epoch=False)
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
        self.model.train()
        self.mode = "train"
        loader = data_loader.loader if isinstance(data_loader, PassIterator) else data_loader
        self.data_loader = loader
        self.epoch_length = len(loader)
        self._max_iters = (self._max_epochs or 0) * self.epoch_length
        resumed = isinstance(data_loader, PassIterator) and data_loader.started
        if resumed:
            self._inner_iter = data_loader.consumed
        self.call_hook("before_train_epoch")
        if not resumed:
            self._inner_iter = 0
        dispatch = self._dispatch
        for data_batch in self._iterate(data_loader):
            self.data_batch = data_batch
            for hook in dispatch["before_train_iter"]:
                hook.before_train_iter(self)
            self.run_iter(data_batch, train_mode=True, **kwargs)
            self._iter_done = True
            for hook in dispatch["after_train_iter"]:
                hook.after_train_iter(self)
            if self._interrupt is not None:  # a signal asked to stop (distributed: the ranks agree on when)
                self._interrupt.iteration_done()
            self._iter_done = False
            self.data_batch = None
            self._iter += 1
            self._inner_iter += 1
        self._inner_iter = max(self._inner_iter - 1, 0)  # mmcv leaves inner_iter at the last index
        self._epoch_done = True
        self.call_hook("after_train_epoch")
        self._epoch_done = False
        self._epoch += 1

    @torch.no_grad()
    def val(self, data_loader: Any, **kwargs: Any) -> None:
        """One validation epoch."""
        self.model.eval()
        self.mode = "val"
        loader = data_loader.loader if isinstance(data_loader, PassIterator) else data_loader
        self.data_loader = loader
        self.epoch_length = len(loader)
        self.call_hook("before_val_epoch")
        self._inner_iter = 0
        for data_batch in self._iterate(data_loader):
            self.data_batch = data_batch
            self.call_hook("before_val_iter")
            self.run_iter(data_batch, train_mode=False, **kwargs)
            self.call_hook("after_val_iter")
            self.data_batch = None
            self._inner_iter += 1
        self._inner_iter = max(self._inner_iter - 1, 0)
        self.call_hook("after_val_epoch")
