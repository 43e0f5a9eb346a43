"""``ProgressBarHook``: a tqdm progress bar of the training iterations, for interactive terminals."""

from __future__ import annotations

import numbers
import sys
from typing import TYPE_CHECKING, Any, ClassVar, TextIO

from runnerkit.hooks.hook import Hook

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner


class ProgressBarHook(Hook):
    """Show training progress with tqdm: all ``max_iters`` for ``IterBasedRunner``, one bar per
    epoch (``epoch_length`` iterations) for ``EpochBasedRunner``.

    Only rank 0 shows a bar, and only when the stream is an interactive terminal unless
    ``enabled=True``. The postfix shows the latest logged loss, taken from
    ``runner.log_buffer.output`` after a logger averaged it: the bar never reads a tensor.

    Args:
        interval: update the bar every ``interval`` iterations.
        bar_width: the bar's total width in characters (default: the terminal's width).
        enabled: ``True`` to always show the bar, ``False`` never, ``None`` on a terminal only.
        file: the stream to draw on (default: ``sys.stderr``).
        by_epoch: one bar per epoch (default: for ``EpochBasedRunner``).
        loss_key: the ``log_vars`` key shown in the postfix.

    Example:
        >>> hook = ProgressBarHook(interval=10, enabled=False)
        >>> hook.priority
        'VERY_LOW'
    """

    priority: ClassVar[int | str] = "VERY_LOW"

    def __init__(
        self,
        interval: int = 1,
        bar_width: int | None = None,
        enabled: bool | None = None,
        file: TextIO | None = None,
        by_epoch: bool | None = None,
        loss_key: str = "loss",
    ) -> None:
        if isinstance(interval, bool) or not isinstance(interval, int) or interval <= 0:
            raise ValueError(f"`interval` must be a positive int, got `{interval!r}`; e.g. `interval=1`.")
        if bar_width is not None and (isinstance(bar_width, bool) or not isinstance(bar_width, int) or bar_width <= 0):
            raise ValueError(f"`bar_width` must be None or a positive int (characters), got `{bar_width!r}`.")
        if enabled is not None and not isinstance(enabled, bool):
            raise TypeError(f"`enabled` must be True, False or None (a terminal only), got `{enabled!r}`.")
        self.interval = interval
        self.bar_width = bar_width
        self.enabled = enabled
        self.file = file
        self.by_epoch = by_epoch
        self.loss_key = loss_key
        self.bar: Any = None
        self._active = False
        self._epochs = False
        self._pending = 0
        self._loss: float | None = None

    def _stream(self) -> TextIO:
        return self.file if self.file is not None else sys.stderr

    def _is_terminal(self) -> bool:
        isatty = getattr(self._stream(), "isatty", None)
        try:
            return bool(isatty()) if callable(isatty) else False
        except (ValueError, OSError):  # a closed stream
            return False

    def _open(self, total: int | None, initial: int, desc: str) -> None:
        from tqdm import tqdm

        self._close()
        self.bar = tqdm(
            total=total, initial=initial, desc=desc, file=self._stream(), ncols=self.bar_width,
            dynamic_ncols=self.bar_width is None, unit="it", leave=True,
        )
        if self._loss is not None:
            self.bar.set_postfix({self.loss_key: f"{self._loss:.4f}"}, refresh=False)

    def _flush(self) -> None:
        if self.bar is not None and self._pending:
            self.bar.update(self._pending)
        self._pending = 0

    def _close(self) -> None:
        self._flush()
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def before_run(self, runner: BaseRunner) -> None:
        from runnerkit.runners.epoch_based import EpochBasedRunner

        self._active = runner.rank == 0 and (self.enabled if self.enabled is not None else self._is_terminal())
        self._epochs = self.by_epoch if self.by_epoch is not None else isinstance(runner, EpochBasedRunner)
        if self._active and not self._epochs:
            self._open(runner.max_iters, runner.iter, "train")

    def before_train_epoch(self, runner: BaseRunner) -> None:
        if self._active and self._epochs:
            total = f"/{runner.max_epochs}" if runner.max_epochs else ""
            self._open(runner.epoch_length or None, runner.inner_iter, f"Epoch {runner.epoch + 1}{total}")

    def after_train_iter(self, runner: BaseRunner) -> None:
        if not self._active:
            return
        self._pending += 1
        loss = runner.log_buffer.output.get(self.loss_key)
        if isinstance(loss, numbers.Real) and self.bar is not None:  # already on the host; never a tensor
            self._loss = float(loss)
            self.bar.set_postfix({self.loss_key: f"{self._loss:.4f}"}, refresh=False)
        if self._pending >= self.interval:
            self._flush()

    def after_train_epoch(self, runner: BaseRunner) -> None:
        if self._active and self._epochs:
            self._close()
        else:
            self._flush()

    def after_run(self, runner: BaseRunner) -> None:
        self._close()
