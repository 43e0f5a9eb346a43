"""A command's signal handling outside ``run``'s loop: SIGTERM exits 143 at any time, and repeats are ignored.

``runnerkit run`` and ``runnerkit demo`` install :class:`ExitOnSignal` first thing (this module
imports no torch, so the window before it is short). While ``run``'s loop is active its own
handler (:mod:`runnerkit.runners.interrupt`) takes over and tells this one when it stopped.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

from runnerkit._errors import TrainingInterrupted

__all__ = ["ExitOnSignal", "exit_on_signals"]

_SIGNALS: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT)


class ExitOnSignal:
    """The handler :func:`exit_on_signals` installs for a command's lifetime outside ``run``'s loop.

    The first SIGTERM/SIGINT raises :class:`~runnerkit.TrainingInterrupted` with no checkpoint
    (no iteration was in flight: nothing to save). Once a stop is under way (this handler raised,
    or ``run`` noted a signal and saved), SIGTERM is ignored and a SIGINT aborts with
    ``KeyboardInterrupt``, as a second Ctrl-C during ``run`` does.

    Attributes:
        received: the signal that started the stop (None: none yet).
    """

    def __init__(self) -> None:
        self.received: int | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None:
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            return
        self.received = signum
        raise TrainingInterrupted(signum, None, None)


@contextlib.contextmanager
def exit_on_signals() -> Iterator[ExitOnSignal]:
    """Install :class:`ExitOnSignal` for SIGTERM and SIGINT for a whole command (main thread only).

    When the command stopped on a signal, SIGTERM stays ignored afterwards: the process is about
    to exit with 143 / 130, and a repeated SIGTERM must not turn that into a kill (-15) while the
    interpreter shuts down (worker processes, logs, the process group). Otherwise the previous
    handlers are restored.
    """
    handler = ExitOnSignal()
    if threading.current_thread() is not threading.main_thread():
        yield handler
        return
    previous = {signum: signal.getsignal(signum) for signum in _SIGNALS}
    installed = [signum for signum in _SIGNALS if previous[signum] is not signal.SIG_IGN]
    for signum in installed:
        signal.signal(signum, handler)
    try:
        yield handler
    finally:
        for signum in installed:
            stopping = handler.received is not None and signum == signal.SIGTERM
            restored = previous[signum]
            signal.signal(signum, signal.SIG_IGN if stopping else (restored if restored is not None else signal.SIG_DFL))
