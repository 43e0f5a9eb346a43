"""Asking pluggy plugin modules in child processes first, so that one that hangs or ends the process at
import cannot take ``runnerkit list`` down with it.

A plugin module (group ``runnerkit.plugins``) must be imported, and its hooks called, to learn its
components. An exception there is caught in-process and reported as that plugin's
:class:`~runnerkit.PluginLoadError`; an import that never returns, or that calls ``os._exit``, cannot be
caught. :func:`probe` imports each plugin in a child process (all at once) and reports the ones that
did not answer within the time limit or ended their process; the container then never imports those.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

__all__ = ["DEFAULT_TIMEOUT", "probe", "timeout_from_env"]

#: seconds a plugin module may take to import and answer its hooks (``RUNNERKIT_PLUGIN_TIMEOUT``)
DEFAULT_TIMEOUT = 10.0

# Every exception is caught: the child exits 0 unless the process itself was ended (``os._exit``,
# a signal); an exception is reported by the in-process import with its own message.
_CHILD = """
import importlib, sys
try:
    module, _, attr = sys.argv[1].partition(":")
    obj = importlib.import_module(module)
    for part in filter(None, attr.split(".")):
        obj = getattr(obj, part)
    for hook in sys.argv[2:]:
        function = getattr(obj, hook, None)
        if callable(function):
            function()
except BaseException:
    pass
"""


def timeout_from_env() -> float:
    """``RUNNERKIT_PLUGIN_TIMEOUT`` in seconds (a positive number), else :data:`DEFAULT_TIMEOUT`."""
    raw = os.environ.get("RUNNERKIT_PLUGIN_TIMEOUT", "")
    try:
        value = float(raw)
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


def probe(targets: Sequence[str], hooks: Sequence[str], timeout: float) -> dict[str, str]:
    """Import each ``module:attr`` target (and call its ``hooks``) in a child process of its own.

    Returns:
        target -> why it must not be imported in this process ("did not answer within 10 s", "ended
        the process with exit code 3"); targets that answered are absent.
    """
    children = {
        target: subprocess.Popen(
            [sys.executable, "-c", _CHILD, target, *hooks],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        for target in targets
    }
    deadline = time.monotonic() + timeout
    verdicts: dict[str, str] = {}
    try:
        for target, child in children.items():
            try:
                code = child.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                verdicts[target] = (
                    f"importing `{target}` (or calling its hooks) did not finish within {timeout:g} s, so it was not "
                    "imported here; a plugin module must import quickly and without waiting on anything "
                    "(`RUNNERKIT_PLUGIN_TIMEOUT` sets the limit in seconds)"
                )
                continue
            if code < 0:
                verdicts[target] = f"importing `{target}` killed the process ({signal.Signals(-code).name})"
            elif code:
                verdicts[target] = (
                    f"importing `{target}` ended the process with exit code {code} (`os._exit`?), so it was not "
                    "imported here"
                )
    finally:
        for child in children.values():
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)  # the plugin's own children too
                child.wait()
    return verdicts
