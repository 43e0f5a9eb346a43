"""mmcv's ``Timer`` and ``check_time``."""

from __future__ import annotations

from time import time
from typing import Any

from runnerkit._errors import RunnerkitError

__all__ = ["Timer", "TimerError", "check_time"]


class TimerError(RunnerkitError):
    """A :class:`Timer` read before it was started (mmcv's exception, in runnerkit's tree: still an ``Exception``)."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class Timer:
    """Seconds since start (``since_start``) and since the last check (``since_last_check``); a context manager.

    Example:
        >>> with Timer(print_tmpl="took {:.1f}s"):
        ...     pass  # doctest: +ELLIPSIS
        took ...s
    """

    def __init__(self, start: bool = True, print_tmpl: str | None = None) -> None:
        self._is_running = False
        self.print_tmpl = print_tmpl if print_tmpl else "{:.3f}"
        if start:
            self.start()

    @property
    def is_running(self) -> bool:
        return self._is_running

    def __enter__(self) -> Timer:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        print(self.print_tmpl.format(self.since_last_check()))
        self._is_running = False

    def start(self) -> None:
        if not self._is_running:
            self._t_start = time()
            self._is_running = True
        self._t_last = time()

    def since_start(self) -> float:
        if not self._is_running:
            raise TimerError("timer is not running")
        self._t_last = time()
        return self._t_last - self._t_start

    def since_last_check(self) -> float:
        if not self._is_running:
            raise TimerError("timer is not running")
        dur = time() - self._t_last
        self._t_last = time()
        return dur


_g_timers: dict[str, Timer] = {}


def check_time(timer_id: str) -> float:
    """Seconds since the previous call with the same id (0 at the first call)."""
    if timer_id not in _g_timers:
        _g_timers[timer_id] = Timer()
        return 0
    return _g_timers[timer_id].since_last_check()
