"""Hook specifications for runnerkit plugins (pluggy project name ``"runnerkit"``).

A plugin is a module or object with functions marked ``@runnerkit.hookimpl``. Publish it under
the entry-point group ``runnerkit.plugins`` or add it at run time with
``runnerkit.register_plugin(obj)``. Each hook returns a mapping *name -> class or
"module:attr" string*; strings are imported only when the component is first built, so keep
plugin modules light and name components as strings.

Example::

    import runnerkit

    @runnerkit.hookimpl
    def runnerkit_runners():
        return {"FastRunner": "acme_runners.fast:FastRunner"}
"""

from __future__ import annotations

from collections.abc import Mapping

import pluggy

__all__ = [
    "hookimpl", "hookspec", "PROJECT_NAME", "Provided", "runnerkit_constructors", "runnerkit_datasets",
    "runnerkit_hooks", "runnerkit_models", "runnerkit_optimizer_constructors", "runnerkit_runners",
]


PROJECT_NAME = "runnerkit"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

Provided = Mapping[str, "type | str"]


@hookspec
def runnerkit_runners() -> Provided:  # type: ignore[empty-body]
    """Return runners: name -> subclass of ``runnerkit.BaseRunner`` or ``"module:attr"``."""


@hookspec
def runnerkit_constructors() -> Provided:  # type: ignore[empty-body]
    """Return runner constructors: name -> callable ``(runner_cfg, default_args)`` or ``"module:attr"``."""


@hookspec
def runnerkit_hooks() -> Provided:  # type: ignore[empty-body]
    """Return training hooks: name -> subclass of ``runnerkit.Hook`` or ``"module:attr"``."""


@hookspec
def runnerkit_models() -> Provided:  # type: ignore[empty-body]
    """Return models for config files: name -> ``torch.nn.Module`` subclass/factory or ``"module:attr"``."""


@hookspec
def runnerkit_datasets() -> Provided:  # type: ignore[empty-body]
    """Return datasets for config files: name -> dataset class/factory or ``"module:attr"``."""


@hookspec
def runnerkit_optimizer_constructors() -> Provided:  # type: ignore[empty-body]
    """Return optimizer constructors: name -> class or ``"module:attr"``.

    A constructor is built with ``(optimizer_cfg, paramwise_cfg)`` and called with the model; it returns
    the optimizer (see ``runnerkit.optim.DefaultOptimizerConstructor``, the usual base class).
    """
