"""Starting processes from tests so that none outlives its test, on any path.

Every process starts in a new session (its own process group); whatever happens (a normal exit, a
timeout, an assertion, pytest-timeout, Ctrl-C), the whole group is killed before the call returns,
so the processes it started in turn (torchrun's workers, valgrind, a benchmark's fresh processes)
end with it instead of being adopted by PID 1.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any


def kill_group(proc: subprocess.Popen[Any]) -> None:
    """SIGKILL ``proc``'s process group (a no-op when it is empty), then reap ``proc``."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@contextmanager
def started(cmd: Sequence[str | Path], **kwargs: Any) -> Iterator[subprocess.Popen[Any]]:
    """``subprocess.Popen(cmd, **kwargs)`` in a new process group, which is killed on leaving the block."""
    proc = subprocess.Popen([str(c) for c in cmd], start_new_session=True, **kwargs)
    try:
        yield proc
    finally:
        kill_group(proc)


def run(cmd: Sequence[str | Path], *, timeout: float, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)``, killing the whole group on every path.

    The output goes through files, not pipes, so a leftover grandchild holding them cannot keep the
    call waiting once ``cmd`` itself has exited.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        with started(cmd, stdout=out, stderr=err, text=True, **kwargs) as proc:
            code = proc.wait(timeout=timeout)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(proc.args, code, out.read(), err.read())
