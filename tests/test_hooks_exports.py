"""Every built-in hook is importable from ``runnerkit.hooks``, and it is the class configs build."""

from __future__ import annotations

import subprocess
import sys

import pytest

import runnerkit.hooks
from runnerkit._build import current_container

try:
    from importlib.metadata import distribution
except ImportError:  # pragma: no cover
    from importlib_metadata import distribution  # type: ignore[no-redef]


def builtin_hook_names() -> list[str]:
    return sorted(ep.name for ep in distribution("runnerkit").entry_points if ep.group == "runnerkit.hooks")


def test_every_builtin_hook_entry_point_is_exported_and_is_the_same_class() -> None:
    names = builtin_hook_names()
    assert len(names) > 20
    for name in names:
        assert name in runnerkit.hooks.__all__, name
        assert getattr(runnerkit.hooks, name) is current_container().get("hook", name), name


def test_the_guessable_imports_work() -> None:
    from runnerkit.hooks import CheckpointHook, EvalHook, Hook, LoggerHook, TextLoggerHook

    assert issubclass(CheckpointHook, Hook) and issubclass(EvalHook, Hook) and issubclass(TextLoggerHook, LoggerHook)
    assert Hook is runnerkit.Hook


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert runnerkit.hooks.__all__ == sorted(runnerkit.hooks.__all__)
    for name in runnerkit.hooks.__all__:
        assert getattr(runnerkit.hooks, name).__name__ == name
    with pytest.raises(AttributeError, match="has no attribute 'NopeHook'"):
        runnerkit.hooks.NopeHook  # noqa: B018


def test_importing_the_package_imports_no_hook_module() -> None:
    code = "import sys, runnerkit.hooks; print(sorted(m for m in sys.modules if m.startswith('runnerkit.hooks.')), 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["[]", "False"]
