"""``IterBasedRunner``: trains for ``max_iters`` iterations (mmcv 1.x semantics)."""

from __future__ import annotations

from typing import Any

import torch

from runnerkit.runners.base import BaseRunner
from runnerkit.runners.data import PassIterator
from runnerkit.runners.workflow import check_workflow, deprecated_max, empty_pass_error

__all__ = ["IterBasedRunner"]


class IterBasedRunner(BaseRunner):
    """Iteration-based runner: the workflow counts iterations, loaders wrap around.

    ``run(data_loaders, workflow)`` with ``workflow=[("train", 1000), ("val", 100)]`` alternates
    1000 training iterations and 100 validation iterations until ``max_iters``. Each loader is
    iterated endlessly; when the training loader starts a new pass, its sampler's ``set_epoch``
    is called and ``runner.epoch`` moves on, without epoch hooks: as in mmcv,
    ``before_train_epoch``/``after_train_epoch`` run once per run, around the loop. The model is
    put back in train mode at the next iteration after a hook switched it to eval (mmcv calls
    ``model.train()`` at every iteration).

    Example:
        >>> runner = runnerkit.build(dict(type="IterBasedRunner", max_iters=1000),
        ...                          default_args=dict(model=model, optimizer=optimizer))
        >>> runner.register_training_hooks(lr_config=dict(policy="step", step=[600]))
        >>> runner.run([train_loader], [("train", 1)])
    """

    by_epoch = False
    default_filename_tmpl = "iter_{}.pth"

    def run(self, data_loaders: list[Any], workflow: list[tuple[str, int]], max_iters: int | None = None, **kwargs: Any) -> None:
        """Alternate the workflow's phases until ``max_iters`` training iterations are done."""
        loop = self.loop
        flows = check_workflow(data_loaders, workflow, self)
        loop.max_iters = deprecated_max(max_iters, "max_iters", loop.max_iters)
        if loop.max_iters is None:
            raise ValueError("IterBasedRunner needs `max_iters` (pass it to the runner: `dict(type='IterBasedRunner', max_iters=N)`).")
        if not any(mode == "train" for mode, _ in flows) and loop.iter < loop.max_iters:
            raise ValueError(f"The workflow {flows} has no 'train' phase, so `max_iters` could never be reached.")
        self._run_workflow(data_loaders, flows, "iters", loop.max_iters, kwargs)

    def _finished(self) -> bool:
        return self.loop.iter >= (self.loop.max_iters or 0)

    def _run_phase(self, index: int, mode: str, done: int, count: int, until_done: bool,
                   kwargs: dict[str, Any]) -> None:
        """A training phase runs as one loop (to the end of training when it is the only phase)."""
        if mode != "train":
            super()._run_phase(index, mode, done, count, until_done, kwargs)
            return
        loop = self.loop
        loop.phase, loop.phase_step = index, done
        batches = self._enter_train(loop.passes[index])
        self._train_loop(batches, (loop.max_iters or 0) - loop.iter if until_done else count - done, kwargs, cycle=count)

    def _enter_train(self, data_loader: PassIterator) -> PassIterator:
        self.model.train()  # mmcv calls it every iteration; the loop calls it again when a hook may have switched modes
        self.mode = "train"
        self.data_loader = data_loader.loader
        if not data_loader.started:
            data_loader.start_pass()
        self.loop.epoch = data_loader.epoch
        self.epoch_length = data_loader.length
        return data_loader

    def train(self, data_loader: PassIterator, **kwargs: Any) -> None:  # type: ignore[override]
        """One training iteration (the batch is fetched before ``before_train_iter``, as mmcv)."""
        self._train_loop(self._enter_train(data_loader), 1, kwargs, cycle=0)

    @torch.no_grad()
    def val(self, data_loader: PassIterator, **kwargs: Any) -> None:  # type: ignore[override]
        """One validation iteration."""
        self.model.eval()
        self.mode = "val"
        self.data_loader = data_loader.loader
        try:
            data_batch = data_loader.next_in_pass()
        except StopIteration:  # a validation loader wraps without epoch hooks
            if data_loader.consumed == 0:  # a whole pass without a batch (a loader without a length)
                raise empty_pass_error(self.loop.passes, data_loader, "val") from None
            data_loader.end_pass()
            data_batch = data_loader.next_in_pass()
        self.epoch_length = data_loader.length
        self._val_iter(data_batch, kwargs)
