"""``EarlyStoppingHook``: stop training when an evaluation metric stops improving."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import Field, NonNegativeFloat, PositiveInt

from runnerkit._args import checked
from runnerkit._errors import ConfigError
from runnerkit.hooks.hook import Hook, get_priority

if TYPE_CHECKING:
    from runnerkit.hooks.checkpoint import CheckpointHook
    from runnerkit.hooks.evaluation import EvalHook
    from runnerkit.runners.base import BaseRunner

__all__ = ["EarlyStoppingHook"]


class EarlyStoppingHook(Hook):
    """Stop the run when the metric ``monitor`` of an ``EvalHook`` has not improved for ``patience`` evaluations.

    After each evaluation (the ``evaluation`` section of a config, or an ``EvalHook`` /
    ``DistEvalHook`` registered by hand) the hook reads ``monitor`` from the results the
    evaluation wrote into ``runner.log_buffer.output``. A result better than the best so far by
    more than ``min_delta`` resets the count; otherwise the count grows, and when it reaches
    ``patience`` the hook saves a checkpoint (next to ``CheckpointHook``'s, with its file name
    scheme, or into the work dir) and asks the runner to stop: ``IterBasedRunner`` stops after
    the current iteration, ``EpochBasedRunner`` after the current epoch, and the ``after_run``
    hooks run as at a normal end.

    The best score, the count and whether the run was stopped are checkpointed, so a resumed run
    keeps counting where it left off, and resuming a stopped run does not train further. A
    ``CheckpointHook`` save due at an evaluation waits for this hook (it runs before the
    evaluation), so that checkpoint holds the evaluation's count, and a stop there is written once.

    Args:
        monitor: the metric name, as the evaluation reports it (``"acc"``, ``"loss"``, ``"mIoU"``).
        rule: ``"greater"`` or ``"less"`` is better; None infers it from the name as
            ``EvalHook`` does (names with ``acc``, ``mAP``, ``mIoU``... are greater, ``loss`` less).
        patience: how many evaluations in a row without improvement stop the run.
        min_delta: the smallest change that counts as an improvement.
        save_checkpoint: save a checkpoint before stopping (so the stopped state can be resumed).

    Config example (the hook must run after ``EvalHook``; its default priority does)::

        evaluation = dict(interval=500)
        custom_hooks = [dict(type="EarlyStoppingHook", monitor="acc", patience=3, min_delta=0.001)]
    """

    #: after ``EvalHook`` (LOW, 70), before the loggers (VERY_LOW, 90) clear its results.
    priority: ClassVar[int | str] = 80

    @checked
    def __init__(
        self,
        monitor: Annotated[str, Field(min_length=1)],
        rule: Literal["greater", "less"] | None = None,
        patience: PositiveInt = 5,
        min_delta: NonNegativeFloat = 0.0,
        save_checkpoint: bool = True,
    ) -> None:
        self.monitor = monitor
        self.rule = rule or _infer_rule(monitor)
        self.patience = patience
        self.min_delta = float(min_delta)
        self.save_checkpoint = bool(save_checkpoint)
        self._ckpt: CheckpointHook | None = None  # the runner's CheckpointHook, found at `before_run`
        self.best: float | None = None
        self.best_at: int | None = None
        self.wait = 0
        self.stopped_at: int | None = None
        self._by_epoch = False  # whether the watched evaluation counts epochs (for messages)
        self._evals: list[EvalHook] = []

    # -- stages -------------------------------------------------------------------------------

    def before_run(self, runner: BaseRunner) -> None:
        from runnerkit.hooks.evaluation import EvalHook

        self._evals = [h for h in runner.hooks if isinstance(h, EvalHook)]
        if not self._evals:
            raise ConfigError(
                "EarlyStoppingHook watches the results of an `EvalHook`, but none is registered; add an "
                "`evaluation=dict(interval=...)` section to the config (or register an EvalHook)."
            )
        own = get_priority(self.priority)
        for hook in self._evals:
            if get_priority(hook.priority) >= own:
                raise ConfigError(
                    f"EarlyStoppingHook (priority {own}) must run after {type(hook).__name__} (priority "
                    f"{get_priority(hook.priority)}) to see its results; give it a larger priority value, e.g. 80."
                )
        ckpt = self._ckpt = self._checkpoint_hook(runner)  # looked up once: `_write_deferred` runs every iteration
        if ckpt is not None and self.save_checkpoint:
            # CheckpointHook (NORMAL) runs before the evaluation (LOW) and this hook: its save at an evaluation
            # waits for this hook, so that the checkpoint holds the count and a stop is saved once, not twice
            ckpt.defer = lambda r: self._evaluates(r, ckpt.by_epoch)
        if self.stopped_at is not None:
            runner.logger.info("Early stopping: this run already stopped at %s %d; nothing left to train.",
                               self._unit(), self.stopped_at)
            runner.request_stop(f"early stopping at {self._unit()} {self.stopped_at}")

    def after_train_iter(self, runner: BaseRunner) -> None:
        if self._evaluates(runner, by_epoch=False):
            self._update(runner, runner.iter + 1, by_epoch=False)
        self._write_deferred(runner)

    def after_train_epoch(self, runner: BaseRunner) -> None:
        if self._evaluates(runner, by_epoch=True):
            self._update(runner, runner.epoch + 1, by_epoch=True)
        self._write_deferred(runner)

    def _evaluates(self, runner: BaseRunner, by_epoch: bool) -> bool:
        """Whether an evaluation this hook counts runs at this stage (``by_epoch``: ``after_train_epoch``)."""
        return self.stopped_at is None and any(h.by_epoch == by_epoch and h._should_evaluate(runner) for h in self._evals)

    def _checkpoint_hook(self, runner: BaseRunner) -> CheckpointHook | None:
        from runnerkit.hooks.checkpoint import CheckpointHook

        return next((h for h in runner.hooks if isinstance(h, CheckpointHook)), None)

    def _write_deferred(self, runner: BaseRunner) -> None:
        """CheckpointHook's save at an evaluation, deferred to here: written once, with this hook's count in it."""
        if self._ckpt is not None and self._ckpt.pending is not None:
            self._ckpt.write_pending(runner)

    # -- the decision ---------------------------------------------------------------------------

    def _update(self, runner: BaseRunner, position: int, by_epoch: bool) -> None:
        self._by_epoch = by_epoch
        if self.stopped_at is not None:
            return
        if runner.rank == 0:
            output = runner.log_buffer.output
            if self.monitor not in output:
                shown = sorted(k for k in output if k != "eval_iter_num") or "nothing"
                message = (f"EarlyStoppingHook(monitor={self.monitor!r}): the evaluation reported {shown}; set "
                           "`monitor` to one of them.")
                path = self._save(runner) if runner.world_size == 1 else None  # the training done so far
                if path is not None:
                    message += (f" Training stopped after {self._unit()} {position}, saved in `{path}`: fix the "
                                "config and resume from it (`runnerkit run CONFIG --resume`).")
                raise ConfigError(message)
            score = float(output[self.monitor])
            if self._improved(score):
                self.best, self.best_at, self.wait = score, position, 0
            else:
                self.wait += 1
        if runner.world_size > 1:  # only rank 0 sees DistEvalHook's results: share its decision
            from runnerkit.dist import broadcast_object

            self.best, self.best_at, self.wait = broadcast_object((self.best, self.best_at, self.wait))
        if self.wait < self.patience:
            return
        self.stopped_at = position
        reason = (
            f"`{self.monitor}` did not improve by more than {self.min_delta:g} for {self.patience} evaluation(s); "
            f"best {self.best:.6g} at {self._unit()} {self.best_at}"
        )
        runner.logger.info("Early stopping at %s %d: %s.", self._unit(), position, reason)
        if self.save_checkpoint:
            self._save(runner)
        runner.request_stop(f"early stopping at {self._unit()} {position}: {reason}")

    def _improved(self, score: float) -> bool:
        if math.isnan(score):
            return False
        if self.best is None:
            return True
        if self.rule == "greater":
            return score > self.best + self.min_delta
        return score < self.best - self.min_delta

    def _unit(self) -> str:
        return "epoch" if self._by_epoch else "iteration"

    def _save(self, runner: BaseRunner) -> str | None:
        """Save a checkpoint (rank 0 writes it); its path, None where nothing was written."""
        ckpt = self._checkpoint_hook(runner)
        if ckpt is not None and ckpt.pending is not None:  # CheckpointHook saves here too: one write, with the stop
            path = ckpt.write_pending(runner)
            if path is not None:
                runner.logger.info("Early stopping: saved %s", path)
            return path
        out_dir = ckpt.out_dir if ckpt is not None else runner.work_dir
        if out_dir is None:
            runner.logger.warning("Early stopping: no work dir and no CheckpointHook, so no checkpoint is saved.")
            return None
        runner.gather_rank_states()  # a collective: every rank takes part, rank 0 writes
        if runner.rank != 0:
            return None
        if ckpt is not None:
            number = runner.completed_epochs if ckpt.by_epoch else runner.completed_iters
            filename = ckpt.filename_tmpl.format(number)
            path = runner.save_checkpoint(out_dir, filename_tmpl=filename.replace("{", "{{").replace("}", "}}"),
                                          save_optimizer=ckpt.save_optimizer)
            if filename not in ckpt.saved:
                ckpt.saved.append(filename)
        else:
            path = runner.save_checkpoint(out_dir)
        runner.logger.info("Early stopping: saved %s", path)
        return path

    # -- checkpointed state ---------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The best score and where it was reached, the count of evaluations without improvement, the stop."""
        return {"best": self.best, "best_at": self.best_at, "wait": self.wait, "stopped_at": self.stopped_at,
                "by_epoch": self._by_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = state.get("best")
        self.best_at = state.get("best_at")
        self.wait = int(state.get("wait", 0))
        self.stopped_at = state.get("stopped_at")
        self._by_epoch = bool(state.get("by_epoch", False))


def _infer_rule(monitor: str) -> str:
    from runnerkit.hooks.evaluation import EvalHook

    key = monitor.lower()
    greater = [k.lower() for k in EvalHook._default_greater_keys]
    less = [k.lower() for k in EvalHook._default_less_keys]
    if key in greater or (key not in less and any(k in key for k in greater)):
        return "greater"
    if key in less or any(k in key for k in less):
        return "less"
    raise ValueError(
        f"Cannot tell whether a greater or a smaller `{monitor}` is better; pass `rule=\"greater\"` or `rule=\"less\"`."
    )
