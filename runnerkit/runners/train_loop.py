"""The training loop both runners share: the workflow cycle and the per-iteration body.

Functions of a runner (``BaseRunner._run_workflow`` and ``_train_loop`` call them). The body is
as tight as a hand-written loop between two events: hooks that are not due are not called
(:class:`~runnerkit.runners.dispatch.IterStage`), the model step is called directly when nothing
wraps it, and nothing is read back from the device.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

from runnerkit.hooks.hook import NEVER
from runnerkit.rng import forked_rng
from runnerkit.runners import checkpointing
from runnerkit.runners.data import PassIterator
from runnerkit.runners.interrupt import stop_on_signals
from runnerkit.runners.step import step_owner
from runnerkit.runners.workflow import empty_pass_error
from runnerkit.workdir import locked

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = ["check_outputs", "fast_step", "new_epoch", "run_workflow", "train_loop"]


def run_workflow(runner: BaseRunner, data_loaders: list[Any], flows: list[tuple[str, int]], unit: str, total: int,
                 kwargs: dict[str, Any]) -> None:
    """What both loops share: start, restore a resumed position, cycle through the workflow, end."""
    loop = runner.loop
    runner.logger.info("Start running, work_dir: %s", runner.work_dir or "NONE")
    if runner.logger.isEnabledFor(logging.DEBUG):  # 60 lines: shown with `--verbose`, not on every run
        runner.logger.debug("Hooks will be executed in the following order:\n%s", runner.get_hook_info())
    runner.logger.info("workflow: %s, max: %d %s", flows, total, unit)
    loop.passes = {i: PassIterator(loader, epoch=loop.epoch, set_epoch=not loop.by_epoch)
                   for i, loader in enumerate(data_loaders)}
    checkpointing.restore_run_state(runner)
    # one run per work dir (rank 0 holds its lock); SIGTERM / SIGINT: finish the iteration, save, exit 143 / 130
    with locked(runner.work_dir if runner.rank == 0 else None), stop_on_signals(runner):
        runner.call_hook("before_run")
        if not loop.by_epoch:
            # as mmcv's IterLoaders, made between before_run and the epoch hook: the training loaders'
            # first passes start now (a DataLoader draws its seeds from torch's RNG when one starts).
            # Validation loaders start theirs in their phase, under forked RNGs (docs/migration.md).
            for i, (mode, _) in enumerate(flows):
                if mode == "train" and not loop.passes[i].started:
                    loop.passes[i].start_pass()
            runner.call_hook("before_train_epoch")
        # a workflow of one training phase is one long phase: no cycle bookkeeping per iteration
        until_done = len(flows) == 1 and flows[0][0] == "train"
        while not runner._finished() and loop.stop_reason is None:
            for i, (mode, count), done in loop.flow_positions(flows):
                with forked_rng(enabled=mode != "train"):  # validation never moves training's RNGs
                    runner._run_phase(i, mode, done, count, until_done, kwargs)
        if not loop.by_epoch:
            runner.call_hook("after_train_epoch")
        runner.call_hook("after_run")


def train_loop(runner: BaseRunner, batches: PassIterator, steps: int, kwargs: dict[str, Any], cycle: int = 0) -> None:
    """Training iterations over ``batches``: the one loop body both runners share.

    Args:
        batches: the data pass to draw from.
        steps: iterations to run at most; 0: to the end of the pass (``EpochBasedRunner``).
            With a limit, the pass wraps around (a new epoch) and the loop also ends at
            ``max_iters`` or when a stop is requested (``IterBasedRunner``).
        kwargs: passed on to ``train_step``.
        cycle: the workflow phase's length (``IterBasedRunner``): ``inner_iter`` and the
            phase cursor count the steps of the phase and start again after ``cycle``.

    Each iteration: fetch the batch; ``before_train_iter`` hooks; the model step (its
    ``log_vars`` into the log buffer); ``after_train_iter`` hooks with ``loop.iter_done`` set;
    advance the counters. Hooks that are not due are skipped (:class:`IterStage`).
    """
    loop = runner.loop
    before, after = runner.dispatch.before_train_iter, runner.dispatch.after_train_iter
    buffer = runner.log_buffer
    update = buffer.update
    model, optimizer, null = runner.model, runner.optimizer, contextlib.nullcontext
    train_step = fast_step(runner, kwargs)
    # IterBasedRunner: mmcv calls `model.train()` at every iteration, so whatever switched the model to
    # eval mode (an evaluation hook, a validation phase) is undone at the next iteration. Here it is
    # called when a stage that may switch modes has run (IterStage), or the model is not training.
    # EpochBasedRunner calls it once per epoch, as mmcv (its `train`).
    watch_mode = bool(steps)
    switched = wrapped = False
    limit = loop.max_iters if steps and loop.max_iters is not None else NEVER
    fetch: Callable[[], Any]

    def start_pass() -> Any:  # at the first fetch, not before the checks that may end the loop first
        nonlocal fetch
        fetch = batches.fetcher()
        return fetch()

    fetch = batches.fetcher() if batches.started else start_pass
    runner.dispatch.reset_due()
    n = loop.phase_step
    left = steps or NEVER
    # `while True`, not `while left`: CPython 3.11 specializes a function's bytecode (attribute
    # reads and writes, calls) once the function has been entered or has jumped back
    # unconditionally a few times, and a `while <condition>` loop jumps back conditionally. This
    # loop runs inside one call, so it would run unspecialized to the end (benchmarks/README.md).
    while True:
        if not left:
            break
        it = loop.iter
        if steps and (it >= limit or loop.stop_reason is not None):  # EpochBasedRunner: at epoch ends
            break
        if wrapped:  # as mmcv, `runner.epoch` shows the new pass from the iteration after its first batch was fetched
            wrapped = False
            loop.epoch = batches.epoch
            runner.dispatch.reset_due()
        try:
            batch = fetch()
        except StopIteration:
            if not steps:
                break
            batch = new_epoch(runner, batches)
            fetch = batches.fetcher()
            wrapped = True
        else:
            batches.consumed += 1
        if cycle:
            loop.inner_iter = loop.phase_step = n
        if watch_mode and (switched or not model.training):
            runner.model.train()
        runner.data_batch = batch
        if it < before.until:
            for stage in before.calls:
                stage(runner)
            switched = before.calls_switch
        else:
            switched = before.run(runner, it)
        if train_step is not None and runner.step_context is null and runner.model is model:
            outputs = train_step(batch, optimizer)
            if outputs.__class__ is not dict:
                check_outputs(outputs, "train_step")
            log_vars = outputs.get("log_vars")
            if log_vars is not None:
                update(log_vars, outputs.get("num_samples", 1))
            runner.outputs = outputs
        else:
            runner.run_iter(batch, train_mode=True, **kwargs)
        loop.iter_done = True
        if it < after.until and not buffer.ready:
            for stage in after.calls:
                stage(runner)
            if after.calls_switch:
                switched = True
        elif after.run(runner, it):
            switched = True
        if runner.interrupt is not None:  # a signal asked to stop (distributed: the ranks agree on when)
            runner.interrupt.iteration_done()
        loop.iter_done = False
        runner.data_batch = None
        loop.iter = it + 1
        loop.inner_iter += 1
        left -= 1
        if cycle:
            n += 1
            if n == cycle:
                n = 0

def fast_step(runner: BaseRunner, kwargs: dict[str, Any]) -> Callable[[Any, Any], Any] | None:
    """The ``train_step`` the loop may call directly, or None when the step must go through ``run_iter``.

    Direct only where that is indistinguishable from mmcv's loop: no step kwargs or batch
    processor, ``run_iter`` not overridden by a runner subclass (video runners override it), and
    not a DDP wrapper without a ``train_step`` of its own. A wrapper's own ``train_step``
    (``MMDataParallel``, ``MMDistributedDataParallel``: the batch goes to the device there) is the
    one called (:func:`~runnerkit.runners.step.step_owner`).
    """
    from runnerkit.runners.base import BaseRunner

    model = runner.model
    if kwargs or runner.batch_processor is not None or type(runner).run_iter is not BaseRunner.run_iter:
        return None
    owner = step_owner(model)
    if owner is not model and isinstance(model, torch.nn.parallel.DistributedDataParallel):
        return None
    return getattr(owner, "train_step", None)


def new_epoch(runner: BaseRunner, batches: PassIterator) -> Any:
    """The pass ran out (``IterBasedRunner``): start the next, return its first batch.

    No epoch hooks: as mmcv's ``IterLoader``, the pass counter moves on silently (the sampler's
    ``set_epoch`` is called); ``before_train_epoch``/``after_train_epoch`` run once per run, around
    the loop (:func:`run_workflow`), so the logger's averages are not cut at each pass. As mmcv's
    ``runner.epoch`` (read from the loader before each fetch), ``loop.epoch`` follows at the next
    iteration (:func:`train_loop`) or training phase.
    """
    if batches.consumed == 0:  # a whole pass without a batch (a loader without a length)
        raise empty_pass_error(runner.loop.passes, batches, "train") from None
    batches.end_pass()
    batch = batches.next_in_pass()
    runner.epoch_length = batches.length
    return batch


def check_outputs(outputs: Any, step: str) -> None:
    """Refuse a step's output that is not a dict (the model contract)."""
    if not isinstance(outputs, dict):
        raise TypeError(
            f"`{step}` must return a dict with `loss`, `log_vars` and `num_samples`, got {type(outputs).__name__}."
        )
