"""``IterBasedRunner``: trains for ``max_iters`` iterations (mmcv 1.x semantics)."""

from __future__ import annotations

from typing import Any

import torch

from runnerkit.rng import forked_rng
from runnerkit.runners.base import BaseRunner
from runnerkit.runners.data import PassIterator
from runnerkit.runners.interrupt import stop_on_signals
from runnerkit.runners.workflow import check_workflow, deprecated_max, empty_pass_error


class IterBasedRunner(BaseRunner):
    """Iteration-based runner: the workflow counts iterations, loaders wrap around.

    ``run(data_loaders, workflow)`` with ``workflow=[("train", 1000), ("val", 100)]`` alternates
    1000 training iterations and 100 validation iterations until ``max_iters``. Each loader is
    iterated endlessly; when the training loader starts a new pass, its sampler's ``set_epoch``
    is called and ``after_train_epoch``/``before_train_epoch`` hooks run.

    Example:
        >>> runner = runnerkit.build(dict(type="IterBasedRunner", max_iters=1000),
        ...                          default_args=dict(model=model, optimizer=optimizer))
        >>> runner.register_training_hooks(lr_config=dict(policy="step", step=[600]))
        >>> runner.run([train_loader], [("train", 1)])
    """

    default_filename_tmpl = "iter_{}.pth"
    by_epoch_default = False

    def _progress_meta(self) -> dict[str, int]:
        # mmcv writes iter + 1 and epoch + 1 (the 1-based epoch in progress).
        return {"epoch": self._epoch + 1, "iter": self.completed_iters}

    def _filename_number(self) -> int:
        return self.completed_iters

    def _flow_step_done(self) -> bool:
        return self._iter_done

    def run(self, data_loaders: list[Any], workflow: list[tuple[str, int]], max_iters: int | None = None, **kwargs: Any) -> None:
        """Alternate the workflow's phases until ``max_iters`` training iterations are done."""
        flows = check_workflow(data_loaders, workflow, self)
        self._max_iters = deprecated_max(max_iters, "max_iters", self._max_iters)
        if self._max_iters is None:
            raise ValueError("IterBasedRunner needs `max_iters` (pass it to the runner: `dict(type='IterBasedRunner', max_iters=N)`).")
        if not any(mode == "train" for mode, _ in flows) and self._iter < self._max_iters:
            raise ValueError(f"The workflow {flows} has no 'train' phase, so `max_iters` could never be reached.")
        self._log_start(flows, "iters", self._max_iters)
        self._pass_iterators = {i: PassIterator(loader, epoch=self._epoch) for i, loader in enumerate(data_loaders)}
        self._restore_run_state()
        with stop_on_signals(self):  # SIGTERM / SIGINT: finish the iteration, save, exit 143 / 130
            self.call_hook("before_run")
            self.call_hook("before_train_epoch")
            while self._iter < self._max_iters and self._stop_reason is None:
                for i, (mode, iters), done in self._flow_positions(flows):
                    self._inner_iter = done
                    step = getattr(self, mode)
                    with forked_rng(enabled=mode != "train"):  # validation never moves training's RNGs
                        for n in range(done, iters):
                            if (mode == "train" and self._iter >= self._max_iters) or self._stop_reason is not None:
                                break
                            self._flow_cursor = (i, n)
                            step(self._pass_iterators[i], **kwargs)
            self.call_hook("after_train_epoch")
            self.call_hook("after_run")

    def _next_batch(self, loader: PassIterator, train: bool) -> Any:
        try:
            return loader.next_in_pass()
        except StopIteration:
            if loader.consumed == 0:  # a whole pass without a batch (a loader without a length)
                raise empty_pass_error(self._pass_iterators, loader, "train" if train else "val") from None
        if train:  # the training loader wraps: one epoch ends, the next begins
            self.call_hook("after_train_epoch")
            loader.end_pass()
            self._epoch = loader.epoch
            self.call_hook("before_train_epoch")
        else:
            loader.end_pass()
        return loader.next_in_pass()

    def train(self, data_loader: PassIterator, **kwargs: Any) -> None:  # type: ignore[override]
        """One training iteration (the batch is fetched before ``before_train_iter``, as mmcv)."""
        if not self.model.training:  # mmcv calls train() every iteration; only a switch is needed
            self.model.train()
        self.mode = "train"
        self.data_loader = data_loader.loader
        self.data_batch = self._next_batch(data_loader, train=True)
        self._epoch = data_loader.epoch
        self.epoch_length = data_loader.length
        dispatch = self._dispatch
        for hook in dispatch["before_train_iter"]:
            hook.before_train_iter(self)
        self.run_iter(self.data_batch, train_mode=True, **kwargs)
        self._iter_done = True
        for hook in dispatch["after_train_iter"]:
            hook.after_train_iter(self)
        if self._interrupt is not None:  # a signal asked to stop (distributed: the ranks agree on when)
            self._interrupt.iteration_done()
        self._iter_done = False
        self.data_batch = None
        self._inner_iter += 1
        self._iter += 1

    @torch.no_grad()
    def val(self, data_loader: PassIterator, **kwargs: Any) -> None:  # type: ignore[override]
        """One validation iteration."""
        self.model.eval()
        self.mode = "val"
        self.data_loader = data_loader.loader
        self.data_batch = self._next_batch(data_loader, train=False)
        self.epoch_length = data_loader.length
        self.call_hook("before_val_iter")
        self.run_iter(self.data_batch, train_mode=False, **kwargs)
        self.call_hook("after_val_iter")
        self.data_batch = None
        self._inner_iter += 1
