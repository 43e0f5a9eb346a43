"""runnerkit: a dependency-injection container for PyTorch training runners.

``import runnerkit`` stays cheap: torch is imported only when a runner or hook class is first
used (``runnerkit.IterBasedRunner``, ``runnerkit.Hook``, ``runnerkit.build(...)``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from runnerkit._build import DefaultRunnerConstructor, build, build_runner
from runnerkit._container import Container, default_container, register_plugin, unregister_plugin
from runnerkit._errors import (
    AmbiguousComponentError,
    CheckpointError,
    ConfigError,
    NonFiniteLossError,
    PluginLoadError,
    RunnerkitError,
    TrainingInterrupted,
    UnknownComponentError,
    WorkDirInUseError,
    WorkDirLockedError,
)
from runnerkit._version import __version__
from runnerkit.hookspecs import hookimpl
from runnerkit.seed import seed_everything

if TYPE_CHECKING:
    from runnerkit._schema import args_model, args_schema, config_schema
    from runnerkit.check import check_config
    from runnerkit.hooks.hook import Hook, Priority
    from runnerkit.runners.args import BaseRunnerArgs
    from runnerkit.runners.base import BaseRunner
    from runnerkit.runners.epoch_based import EpochBasedRunner
    from runnerkit.runners.iter_based import IterBasedRunner

# Names that need torch or pydantic, imported on first access.
_LAZY = {
    "args_model": "runnerkit._schema",
    "args_schema": "runnerkit._schema",
    "check_config": "runnerkit.check",
    "config_schema": "runnerkit._schema",
    "BaseRunner": "runnerkit.runners.base",
    "BaseRunnerArgs": "runnerkit.runners.args",
    "EpochBasedRunner": "runnerkit.runners.epoch_based",
    "Hook": "runnerkit.hooks.hook",
    "IterBasedRunner": "runnerkit.runners.iter_based",
    "Priority": "runnerkit.hooks.hook",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'runnerkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "AmbiguousComponentError",
    "BaseRunner",
    "BaseRunnerArgs",
    "CheckpointError",
    "ConfigError",
    "Container",
    "DefaultRunnerConstructor",
    "EpochBasedRunner",
    "Hook",
    "IterBasedRunner",
    "NonFiniteLossError",
    "PluginLoadError",
    "Priority",
    "RunnerkitError",
    "TrainingInterrupted",
    "UnknownComponentError",
    "WorkDirInUseError",
    "WorkDirLockedError",
    "__version__",
    "args_model",
    "args_schema",
    "build",
    "build_runner",
    "check_config",
    "config_schema",
    "default_container",
    "hookimpl",
    "register_plugin",
    "seed_everything",
    "unregister_plugin",
]
