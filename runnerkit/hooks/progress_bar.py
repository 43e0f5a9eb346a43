"""``ProgressBarHook``: a tqdm progress bar of the training iterations, for interactive terminals."""

from __future__ import annotations

import io
import logging
import numbers
import os
import sys
from typing import TYPE_CHECKING, Any, TextIO

from pydantic import NonNegativeFloat, PositiveInt

from runnerkit._args import checked
from runnerkit.hooks.logger_base import LoggerHook

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = ["ProgressBarHook"]

#: the bar's width on a terminal that reports no size (0 columns).
FALLBACK_COLUMNS = 80


class ProgressBarHook(LoggerHook):
    """Show training progress with tqdm: all ``max_iters`` for ``IterBasedRunner``, one bar per
    epoch (``epoch_length`` iterations) for ``EpochBasedRunner``.

    Only rank 0 shows a bar, and only when the stream is an interactive terminal unless
    ``enabled=True``. The postfix shows the latest logged loss, read from
    ``runner.log_buffer.output`` after a logger averaged it: the bar never reads a tensor.

    Each epoch's bar starts at that epoch's first iteration, so its count and rate are the
    epoch's own. While a bar is drawn, log lines of the runner's console handlers clear it,
    print on a line of their own and redraw it below (on a terminal they would otherwise run on
    from the bar's text).

    It takes part in the loggers' protocol (it is a :class:`LoggerHook` that never averages):
    registered after the loggers, it is the one that clears the averaged output once every
    logger and the bar have seen it.

    Args:
        interval: update the bar every ``interval`` iterations.
        refresh_s: at least this many seconds between redraws (tqdm's ``mininterval``), so that a
            fast loop does not spend its time drawing.
        bar_width: the bar's total width in characters (default: the terminal's width; 80 on a terminal
            that reports a 0x0 size).
        enabled: ``True`` to always show the bar, ``False`` never, ``None`` on a terminal only.
        file: the stream to draw on (default: ``sys.stderr``).
        by_epoch: one bar per epoch (default: for ``EpochBasedRunner``).
        loss_key: the ``log_vars`` key shown in the postfix.

    Example:
        >>> hook = ProgressBarHook(interval=10, enabled=False)
        >>> hook.priority
        'VERY_LOW'
    """

    @checked
    def __init__(
        self,
        interval: PositiveInt = 1,
        bar_width: PositiveInt | None = None,
        enabled: bool | None = None,
        file: TextIO | None = None,
        by_epoch: bool | None = None,
        loss_key: str = "loss",
        refresh_s: NonNegativeFloat = 0.1,
    ) -> None:
        super().__init__(interval=interval)
        self.bar_width = bar_width
        self.enabled = enabled
        self.file = file
        self.per_epoch = by_epoch
        self.loss_key = loss_key
        self.refresh_s = float(refresh_s)
        self.bar: Any = None
        self.loss: float | None = None
        self._active = False
        self._epochs = False
        self._epoch_desc: str | None = None  # an epoch bar waiting for the epoch's first iteration
        self._guarded: list[logging.Handler] = []

    def log(self, runner: BaseRunner) -> None:
        """Nothing to write: the bar shows the loss the other loggers averaged."""

    # -- the bar ------------------------------------------------------------------------------

    def _stream(self) -> TextIO:
        return self.file if self.file is not None else sys.stderr

    def _is_terminal(self) -> bool:
        isatty = getattr(self._stream(), "isatty", None)
        try:
            return bool(isatty()) if callable(isatty) else False
        except (ValueError, OSError):  # a closed stream
            return False

    def _terminal_columns(self) -> int | None:
        """The stream's terminal width; None when it has no terminal size to ask for (not a terminal, a file)."""
        try:
            return os.get_terminal_size(self._stream().fileno()).columns
        except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
            return None

    def _open(self, total: int | None, initial: int, desc: str) -> None:
        from tqdm import tqdm

        self._close()
        width = self.bar_width
        if width is None and self._terminal_columns() == 0:
            width = FALLBACK_COLUMNS  # a terminal that reports 0x0 (a bare pty, some CI consoles): tqdm would draw nothing
        self.bar = tqdm(
            total=total, initial=initial, desc=desc, file=self._stream(), ncols=width,
            dynamic_ncols=width is None, unit="it", leave=True, mininterval=self.refresh_s,
        )
        self._show_loss()

    def _show_loss(self) -> None:
        if self.bar is not None and self.loss is not None:
            self.bar.set_postfix({self.loss_key: f"{self.loss:.4f}"}, refresh=False)

    def _advance(self, position: int, force: bool = False) -> None:
        # Positions, not increments: EvalHook may call after_train_iter twice for one iteration.
        if self.bar is not None and (force or position - self.bar.n >= self.interval) and position > self.bar.n:
            self.bar.update(position - self.bar.n)

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    # -- log lines on their own lines ---------------------------------------------------------

    def _guard_log_lines(self, runner: BaseRunner) -> None:
        """Make the console handlers of ``runner.logger`` clear the bar before a line and redraw it after.

        On a terminal the bar's line has no newline yet; a log line written there would run on
        from the bar's text. File handlers are left alone.
        """
        logger: logging.Logger | None = runner.logger
        while logger is not None:
            for handler in logger.handlers:
                if type(handler) is logging.StreamHandler and "emit" not in vars(handler):
                    handler.emit = self._emitter(handler.emit)  # type: ignore[method-assign]
                    self._guarded.append(handler)
            logger = logger.parent if logger.propagate else None

    def _emitter(self, emit: Any) -> Any:
        def emit_between_bars(record: logging.LogRecord) -> None:
            bar = self.bar
            if bar is None:
                emit(record)
                return
            bar.clear()
            try:
                emit(record)
            finally:
                bar.refresh()

        return emit_between_bars

    def _unguard_log_lines(self) -> None:
        for handler in self._guarded:
            vars(handler).pop("emit", None)
        self._guarded = []

    def _position(self, runner: BaseRunner) -> int:
        return runner.inner_iter + 1 if self._epochs else runner.iter + 1

    # -- stages -------------------------------------------------------------------------------

    def before_run(self, runner: BaseRunner) -> None:
        super().before_run(runner)  # the last logger clears the output (maybe this one)
        self._active = runner.rank == 0 and (self.enabled if self.enabled is not None else self._is_terminal())
        self._epochs = self.per_epoch if self.per_epoch is not None else runner.loop.by_epoch
        if self._active:
            self._guard_log_lines(runner)
        if self._active and not self._epochs:
            self._open(runner.max_iters, runner.iter, "train")

    def before_train_epoch(self, runner: BaseRunner) -> None:
        super().before_train_epoch(runner)
        if self._active and self._epochs:
            # Opened at the epoch's first iteration: only then is `inner_iter` this epoch's (here it
            # may still be the last index of the previous epoch, or a resumed epoch's position).
            self._close()
            total = f"/{runner.max_epochs}" if runner.max_epochs else ""
            self._epoch_desc = f"Epoch {runner.epoch + 1}{total}"
            self.loss = None  # a new epoch's bar shows this epoch's loss, once logged

    def due_iter(self, runner: BaseRunner, stage: str) -> int:
        return runner.iter  # the bar moves at every iteration

    def after_train_iter(self, runner: BaseRunner) -> None:
        buffer = runner.log_buffer
        logged = False
        if buffer.ready:
            loss = buffer.output.get(self.loss_key)
            # averaged, on the host (never a tensor), and a training value, not EvalHook's results
            if isinstance(loss, numbers.Real) and "eval_iter_num" not in buffer.output:
                self.loss = float(loss)
                self._show_loss()
                logged = True
            if self.reset_flag:
                buffer.clear_output()
        if self._active:
            position = self._position(runner)
            if self._epoch_desc is not None:
                self._open(runner.epoch_length or None, position - 1, self._epoch_desc)
                self._epoch_desc = None
            self._advance(position, force=self.is_last_iter(runner) or self.end_of_epoch(runner))
            if logged and self.bar is not None:
                # The log line just printed redrew the bar before this iteration counted and its loss arrived;
                # draw it again now, once per log interval, or it would show both one step/interval late.
                self.bar.refresh()

    def after_train_epoch(self, runner: BaseRunner) -> None:
        if runner.log_buffer.ready and self.reset_flag:
            runner.log_buffer.clear_output()
        if self._active and self._epochs:
            self._close()

    def after_val_epoch(self, runner: BaseRunner) -> None:
        if self.reset_flag:  # the loggers averaged and logged the val phase already
            runner.log_buffer.clear_output()

    def after_run(self, runner: BaseRunner) -> None:
        self._close()
        self._epoch_desc = None
        self._unguard_log_lines()
