"""Every exception runnerkit defines belongs to the documented tree (runnerkit._errors, docs/errors.md)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import runnerkit
from runnerkit import _errors

DOCS = (Path(__file__).resolve().parents[1] / "docs" / "errors.md").read_text()


def defined_exceptions() -> dict[str, type[BaseException]]:
    """Exception classes defined in any importable runnerkit module (optional dependencies aside)."""
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(runnerkit.__path__, "runnerkit."):
        if info.name.endswith("__main__"):
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError:
            continue  # needs an optional dependency
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__.startswith("runnerkit"):
                found[name] = obj
    return found


def test_every_exception_runnerkit_defines_is_in_the_tree_and_documented() -> None:
    found = defined_exceptions()
    assert {"RunnerkitError", "ConfigError", "PluginLoadError", "UnknownComponentError"} <= set(found)
    for name, cls in found.items():
        assert issubclass(cls, (runnerkit.RunnerkitError, SystemExit)), f"{name} is outside the RunnerkitError tree"
        assert f"{name} " in DOCS or f"`{name}`" in DOCS, f"docs/errors.md does not list {name}"
        assert name in (_errors.__doc__ or ""), f"the runnerkit._errors docstring does not list {name}"


def test_key_error_subclasses_print_their_message_unquoted() -> None:
    err = runnerkit.UnknownComponentError("runner", "Nope")
    assert str(err).startswith("Unknown runner `Nope`.")
    assert isinstance(err, KeyError)
