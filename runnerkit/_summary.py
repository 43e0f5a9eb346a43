"""What a run did and where it stands, in words (the closing line of ``runnerkit run``)."""

from __future__ import annotations

from typing import Any

__all__ = ["Progress", "closing_line", "finished_message"]


class Progress:
    """A runner's counters at one moment: ``Progress(runner)`` before training, compared after it."""

    def __init__(self, runner: Any) -> None:
        self.iter = int(runner.iter)
        self.epoch = int(runner.epoch)


def _by_epoch(runner: Any) -> bool:
    from runnerkit.runners.epoch_based import EpochBasedRunner

    return isinstance(runner, EpochBasedRunner)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def finished_message(runner: Any) -> str | None:
    """``"finished at iteration N; ..."`` (``"... epoch E (iteration N)"``) when nothing is left to train, else None.

    A run is finished when its counters reached ``max_iters`` / ``max_epochs``, or when a hook
    stopped it early (its checkpointed ``stopped_at``, as ``EarlyStoppingHook`` keeps).
    """
    where = f"epoch {runner.epoch} (iteration {runner.iter})" if _by_epoch(runner) else f"iteration {runner.iter}"
    if _by_epoch(runner):
        done = runner.max_epochs is not None and runner.epoch >= runner.max_epochs
    else:
        done = runner.max_iters is not None and runner.iter >= runner.max_iters
    key = "max_epochs" if _by_epoch(runner) else "max_iters"
    hint = f"nothing left to train (to train longer, raise `runner.{key}` in the config and resume)"
    if done:
        return f"finished at {where}; {hint}"
    for hook in runner.hooks:
        if getattr(hook, "stopped_at", None) is not None:
            return f"finished at {where} ({type(hook).__name__} stopped it); nothing left to train"
    return None


def closing_line(runner: Any, start: Progress, seconds: float) -> str:
    """One sentence on what this run did: ``"Trained 3 epochs (30 iterations) in 1.2 s."``.

    Counts what happened since ``start`` (a resumed run counts only its own part and says where it
    began), in epochs for an epoch-based runner, and says when the run stopped early.
    """
    iters = runner.iter - start.iter
    if _by_epoch(runner):
        done = f"{_plural(runner.epoch - start.epoch, 'epoch')} ({_plural(iters, 'iteration')})"
        span = f"epoch {start.epoch} to {runner.epoch}"
    else:
        done = _plural(iters, "iteration")
        span = f"iteration {start.iter} to {runner.iter}"
    line = f"Trained {done} in {seconds:.1f} s"
    if start.iter or start.epoch:
        line += f", resumed: {span}"
    reason = getattr(runner, "stop_reason", None)
    if reason:
        line += f"; stopped: {reason}"
    return line + "."
