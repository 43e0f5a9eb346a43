"""``LoopState``: where a training loop is (counters, workflow cursor, data passes), as one object.

The runner reads and advances it; checkpoints save its :meth:`LoopState.state_dict` and
:func:`runnerkit.runners.checkpointing.resume` gives it back through
:meth:`LoopState.load_state_dict`. Hooks read the same values through the runner's properties
(``runner.iter``, ``runner.epoch``, ...); tests and tools that need to put a runner at a given
position set them here (``runner.loop.iter = 100``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from runnerkit.runners.data import PassIterator

__all__ = ["LoopState"]


class LoopState:
    """The position of a run: mmcv's counters plus what an exact resume needs.

    Args:
        by_epoch: the workflow counts epochs (``EpochBasedRunner``) rather than iterations.
        max_epochs: epochs to train, if given.
        max_iters: iterations to train, if given.

    Attributes:
        epoch: the epoch in progress (0-based), as mmcv's ``runner.epoch``.
        iter: training iterations finished before the current one (mmcv's ``runner.iter``).
        inner_iter: the iteration's index within its epoch (or validation pass).
        iter_done: the current iteration's step has run; the counters are not advanced yet
            (true while ``after_train_iter`` hooks run, so a checkpoint counts the iteration).
        epoch_done: the current epoch's batches are done, its counter not advanced yet.
        phase: the workflow phase in progress (its index in the workflow).
        phase_step: the steps (iterations or epochs) of that phase done before the current one;
            ``flow`` is ``(phase, phase_step)``.
        passes: one :class:`~runnerkit.runners.data.PassIterator` per data loader of ``run``.
        resume_flow: where a resumed run re-enters its workflow cycle (consumed when it does).
        stop_reason: why the run was asked to stop early (None while it goes on).
    """

    __slots__ = (
        "by_epoch",
        "epoch",
        "epoch_done",
        "inner_iter",
        "iter",
        "iter_done",
        "max_epochs",
        "max_iters",
        "passes",
        "phase",
        "phase_step",
        "resume_flow",
        "stop_reason",
    )

    def __init__(self, by_epoch: bool, max_epochs: int | None = None, max_iters: int | None = None) -> None:
        self.by_epoch = by_epoch
        self.epoch = 0
        self.iter = 0
        self.inner_iter = 0
        self.max_epochs = max_epochs
        self.max_iters = max_iters
        self.iter_done = False
        self.epoch_done = False
        self.phase = 0
        self.phase_step = 0
        self.passes: dict[int, PassIterator] = {}
        self.resume_flow: tuple[int, int] | None = None
        self.stop_reason: str | None = None

    @property
    def completed_iters(self) -> int:
        """Training iterations finished so far (counts the current one once its step has run)."""
        return self.iter + 1 if self.iter_done else self.iter

    @property
    def completed_epochs(self) -> int:
        """Training epochs finished so far (counts the current one once its batches are done)."""
        return self.epoch + 1 if self.epoch_done else self.epoch

    @property
    def flow(self) -> tuple[int, int]:
        """``(workflow phase, steps done in it)``, where the workflow cycle stands."""
        return (self.phase, self.phase_step)

    @flow.setter
    def flow(self, value: tuple[int, int]) -> None:
        self.phase, self.phase_step = value

    @property
    def step_done(self) -> bool:
        """Whether the current workflow step (an epoch, or an iteration) has finished."""
        return self.epoch_done if self.by_epoch else self.iter_done

    def checkpoint_number(self) -> int:
        """The number a checkpoint's file name carries: completed epochs, or completed iterations."""
        return self.completed_epochs if self.by_epoch else self.completed_iters

    def progress_meta(self) -> dict[str, int]:
        """mmcv's ``meta`` counters as mmcv writes them (``IterBasedRunner``: the 1-based epoch in progress)."""
        epoch = self.completed_epochs if self.by_epoch else self.epoch + 1
        return {"epoch": epoch, "iter": self.completed_iters}

    def position(self, mode: str | None) -> tuple[Any, ...]:
        """A key that is equal exactly when two moments of a run are at the same place."""
        return (self.completed_iters, self.completed_epochs, self.inner_iter, mode, self.flow)

    def flow_positions(self, flows: list[tuple[str, int]]) -> Iterator[tuple[int, tuple[str, int], int]]:
        """``(index, phase, steps already done)`` for one workflow cycle; a resumed run starts mid-cycle."""
        start, done = self.resume_flow or (0, 0)
        self.resume_flow = None
        for i, flow in enumerate(flows):
            if i >= start:
                yield i, flow, (done if i == start else 0)

    # -- checkpoints ---------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The position as plain data (``runnerkit.loop`` in a checkpoint); data passes included."""
        return {
            "epoch": self.completed_epochs if self.epoch_done else self.epoch,
            "iter": self.completed_iters,
            "inner_iter": self.inner_iter + (1 if self.iter_done else 0),
            "epoch_done": self.epoch_done,
            "flow": [self.phase, self.phase_step + (1 if self.step_done else 0)],
            "loaders": self.pass_states(),
        }

    def pass_states(self) -> dict[str, Any]:
        """Every data pass's position, by loader index (a string, as checkpoints store it)."""
        return {str(i): it.state_dict() for i, it in self.passes.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Take the counters and workflow cursor of :meth:`state_dict`.

        Data passes are restored when ``run`` has created them (see
        :func:`~runnerkit.runners.checkpointing.restore_run_state`), because each rank of a
        distributed run restores its own.
        """
        self.epoch = int(state["epoch"])
        self.iter = int(state["iter"])
        self.inner_iter = int(state["inner_iter"])
        self.iter_done = self.epoch_done = False
        if "flow" in state:
            self.resume_flow = (int(state["flow"][0]), int(state["flow"][1]))

    def load_pass_states(self, states: dict[str, Any]) -> None:
        """Replay each data pass to its saved position (loaders ``run`` has not been given are skipped)."""
        for index, pass_state in states.items():
            iterator = self.passes.get(int(index))
            if iterator is not None:
                iterator.load_state_dict(pass_state)

    def __repr__(self) -> str:
        return (f"LoopState(epoch={self.epoch}, iter={self.iter}, inner_iter={self.inner_iter}, "
                f"max_epochs={self.max_epochs}, max_iters={self.max_iters}, flow={self.flow})")
