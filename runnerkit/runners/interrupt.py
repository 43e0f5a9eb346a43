"""Stopping a run on SIGTERM or SIGINT without losing work.

While a built-in runner's ``run`` is active (and only in the main thread), SIGTERM (a
preemption, a scheduler's time limit) and a first SIGINT (Ctrl-C) ask the loop to stop: the
iteration in flight finishes, a checkpoint is written at that iteration (``iter_<n>.pth`` in the
checkpoint hook's folder, else the work dir; ``last_checkpoint`` names it), the resume hint is
logged and :class:`~runnerkit.TrainingInterrupted` is raised, so the process exits 143 (SIGTERM)
or 130 (SIGINT). A second SIGINT raises ``KeyboardInterrupt`` at once. A signal the process
ignored before ``run`` (``SIG_IGN``) stays ignored; a Python handler installed before ``run`` (a
cluster tool's requeue handler, say) is called once the checkpoint is written; the previous
handlers are restored when ``run`` ends.

A command (``runnerkit run``) covers the rest of its life with
:func:`runnerkit._signal_exit.exit_on_signals`: a SIGTERM
or first SIGINT while it builds the job (before ``run``'s loop) or after training ends stops it at
once with :class:`~runnerkit.TrainingInterrupted` (nothing to save: exit 143 / 130, not -15), and
once a stop is under way the repeats a scheduler sends (torchrun forwards the SIGTERM it received
itself) are ignored until the process has exited.

Under torch.distributed the ranks agree on the iteration to stop at, so that each saves its state
at the same one: every iteration each rank starts an asynchronous all-reduce of its "signalled"
flag (a CPU tensor, on a gloo group of its own) and waits for the one it started an iteration
earlier; every rank reads the same result at the same iteration. In one process the loop pays one
attribute check per iteration.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any

import torch

from runnerkit._errors import TrainingInterrupted
from runnerkit._signal_exit import ExitOnSignal

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = ["Interrupt", "stop_on_signals"]

_SIGNALS: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT)


class Interrupt:
    """The signal state of one ``run``: set as ``runner.interrupt`` once a stop may be due.

    Args:
        runner: the runner being run.
        distributed: several ranks must agree on the iteration to stop at.
    """

    def __init__(self, runner: BaseRunner, distributed: bool = False) -> None:
        self.runner = runner
        self.distributed = distributed
        self.signum: int | None = None
        #: the handlers ``run`` replaced; a Python one runs once the checkpoint is written
        self.previous: dict[int, Any] = {}
        self._flag = torch.zeros(1, dtype=torch.int32)
        self._work: Any = None
        self._group: Any = None
        if distributed:
            import torch.distributed as torch_dist

            # a gloo group of its own: the flag stays on the CPU (reading it never syncs a GPU under NCCL),
            # and the default group carries only what training and logging exchange
            self._group = torch_dist.new_group(backend="gloo", timeout=_world_timeout())

    # -- the signal handler (main thread, between two bytecodes) ------------------------------------

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """Note the first signal; a second SIGINT aborts at once."""
        if self.signum is not None:
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            return
        self.signum = signum  # nothing else here: logging from a handler could re-enter a stream's write
        self.runner.interrupt = self

    # -- the loop's side ---------------------------------------------------------------------------

    def iteration_done(self) -> None:
        """Called after each iteration's ``after_train_iter`` hooks: stop here if the ranks agree to."""
        signum = self.signum
        if self.distributed:
            agreed = self._agreed()
            if not agreed:
                self._start_round()
                return
            signum = agreed
        if signum is not None:
            self._stop(signum)

    def _agreed(self) -> int:
        """The largest signal any rank had noted when the previous round started (0: none)."""
        if self._work is None:
            return 0
        self._work.wait()
        self._work = None
        return int(self._flag.item())

    def _start_round(self) -> None:
        import torch.distributed as torch_dist

        self._flag.fill_(self.signum or 0)
        self._work = torch_dist.all_reduce(self._flag, op=torch_dist.ReduceOp.MAX, group=self._group, async_op=True)

    def finish(self) -> None:
        """Wait for a round still in flight when ``run`` ends (every rank started the same rounds)."""
        if self._work is not None:
            self._work.wait()
            self._work = None

    def _stop(self, signum: int) -> None:
        runner = self.runner
        iteration = runner.completed_iters
        out_dir = checkpoint_dir(runner)
        name = signal.Signals(signum).name
        again = " (press Ctrl-C again to abort at once)" if signum == signal.SIGINT else ""
        runner.logger.warning("%s received: saving a checkpoint at iteration %d, then stopping%s.", name, iteration, again)
        path: str | None = None
        if out_dir is not None:
            runner.gather_rank_states()  # every rank takes part; rank 0 writes them
            filename = f"iter_{iteration}.pth"
            path = os.path.join(out_dir, filename)
            from runnerkit.runners.checkpointing import every_rank_saves

            if runner.rank == 0 or every_rank_saves(runner):  # a sharded model's save is a collective
                path = runner.save_checkpoint(out_dir, filename_tmpl=filename, save_optimizer=_save_optimizer(runner))
        if path is not None:
            runner.logger.warning(
                "Stopped by %s after iteration %d; checkpoint saved: %s. Resume from it (`runner.resume(path)`, the "
                "argument `resume=PATH`, or the config key `resume_from`).", name, iteration, path)
        else:
            runner.logger.warning("Stopped by %s after iteration %d; no work dir, so no checkpoint was saved.", name, iteration)
        previous = self.previous.get(signum)
        if isinstance(previous, ExitOnSignal):
            previous.received = signum  # the command's handler: the stop is under way, ignore repeats
        elif callable(previous) and previous is not signal.default_int_handler:
            previous(signum, None)  # e.g. a cluster tool's requeue handler, now that the work is saved
        raise TrainingInterrupted(signum, path, iteration)


def _world_timeout() -> Any:
    """The default group's collective timeout (a lost rank fails the flag exchange as soon as training's)."""
    from torch.distributed import distributed_c10d

    try:
        group = distributed_c10d._get_default_group()
    except Exception:  # pragma: no cover - not initialised
        return None
    for device in ("cpu", "cuda"):
        try:
            return group._get_backend(torch.device(device)).options._timeout
        except Exception:
            continue
    return None  # pragma: no cover - torch's default


def checkpoint_dir(runner: BaseRunner) -> str | None:
    """Where the interval checkpoints go: the ``CheckpointHook``'s folder, else the work dir."""
    for hook in _checkpoint_hooks(runner):
        if hook.out_dir is not None:
            return str(os.fspath(hook.out_dir))
    return runner.work_dir


def _save_optimizer(runner: BaseRunner) -> bool:
    return all(hook.save_optimizer for hook in _checkpoint_hooks(runner))


def _checkpoint_hooks(runner: BaseRunner) -> list[Any]:
    """The registered ``CheckpointHook``s (subclasses too), found by class name: the loop imports no concrete hook."""
    return [hook for hook in runner.hooks if any(cls.__name__ == "CheckpointHook" for cls in type(hook).__mro__)]


@contextlib.contextmanager
def stop_on_signals(runner: BaseRunner) -> Iterator[None]:
    """Install the SIGTERM/SIGINT handlers for the duration of ``run`` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    distributed = runner.world_size > 1
    interrupt = Interrupt(runner, distributed)
    previous = interrupt.previous
    for signum in _SIGNALS:
        current = signal.getsignal(signum)
        if current is signal.SIG_IGN:
            continue
        previous[signum] = current
        signal.signal(signum, interrupt.handle)
    if distributed:
        runner.interrupt = interrupt  # the ranks talk every iteration
    try:
        yield
        interrupt.finish()  # only when every rank ran to the end: after a failure the others may never answer
    finally:
        runner.interrupt = None
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)

