"""Optional dependencies a component declares, checked before anything trains.

A hook (or any component class) that needs a package runnerkit does not install by default
lists it in its ``requires`` class attribute. ``runnerkit validate``, ``runnerkit run`` (before
the job is built), building a hook from a config and ``runner.register_hook`` all check the
list, so a missing package is reported up front with the command that installs it, never after
the first iterations with empty log files left behind.

Example:
    >>> from runnerkit.requires import Requirement, missing
    >>> class WandbHook:  # a Hook subclass in real code
    ...     requires = (Requirement("wandb", pip="wandb"),)
    >>> missing(WandbHook) == [] or missing(WandbHook)[0].module == "wandb"
    True

Only ``importlib.util.find_spec`` is used: nothing is imported to check.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from collections.abc import Iterable
from typing import Any

from runnerkit._errors import RunnerkitError

__all__ = ["MissingDependencyError", "Requirement", "check", "install_command", "message", "missing", "requirements"]


@dataclasses.dataclass(frozen=True)
class Requirement:
    """A package a component needs at run time.

    Attributes:
        module: the import name checked (``"tensorboard"``, ``"wandb"``, ``"matplotlib"``).
        pip: what to install when it is missing: a distribution (``"wandb"``) or a runnerkit
            extra (``"runnerkit[tensorboard]"``). Default: ``module``.
    """

    module: str
    pip: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.module, str) or not self.module or not all(p.isidentifier() for p in self.module.split(".")):
            raise ValueError(f"`Requirement.module` must be an import name such as `\"wandb\"`, got `{self.module!r}`.")
        if not self.pip:
            object.__setattr__(self, "pip", self.module)

    def is_installed(self) -> bool:
        """Whether ``module`` can be imported (found on ``sys.path``; not imported)."""
        if self.module in sys.modules:
            return sys.modules[self.module] is not None
        try:
            return importlib.util.find_spec(self.module) is not None
        except (ImportError, ValueError):  # a parent package is missing, or a broken __spec__
            return False


def requirements(component: Any) -> list[Requirement]:
    """The packages ``component`` declares in its ``requires`` (import names made :class:`Requirement`)."""
    declared = getattr(component, "requires", ()) or ()
    if isinstance(declared, (str, Requirement)):
        declared = (declared,)
    out = []
    for item in declared:
        out.append(item if isinstance(item, Requirement) else Requirement(str(item)))
    return out


def missing(component: Any) -> list[Requirement]:
    """The requirements ``component`` (a class or an instance) declares that are not installed."""
    return [req for req in requirements(component) if not req.is_installed()]


def install_command(requirements: Iterable[Requirement]) -> str:
    """``pip install "a" "b"`` for ``requirements`` (each install spec once, in order)."""
    specs = list(dict.fromkeys(req.pip for req in requirements))
    return "pip install " + " ".join(f'"{s}"' if "[" in s or "<" in s or ">" in s else s for s in specs)


def message(component: Any, absent: list[Requirement] | None = None) -> str | None:
    """Why ``component`` cannot be used (its missing packages and the install command), or None."""
    absent = missing(component) if absent is None else absent
    if not absent:
        return None
    name = getattr(component, "__name__", None) or type(component).__name__
    modules = ", ".join(f"`{req.module}`" for req in absent)
    verb = "is" if len(absent) == 1 else "are"
    return f"`{name}` needs {modules}, which {verb} not installed; install it with `{install_command(absent)}`"


class MissingDependencyError(RunnerkitError, ImportError):
    """A component needs an optional package that is not installed.

    Attributes:
        component: the class's name.
        requirements: the missing :class:`Requirement` objects.
    """

    def __init__(self, component: str, requirements: list[Requirement], text: str) -> None:
        self.component = component
        self.requirements = requirements
        super().__init__(text)


def check(component: Any, where: str = "") -> None:
    """Raise :class:`MissingDependencyError` when ``component`` needs a package that is missing.

    Args:
        component: a class or an instance with a ``requires`` attribute (others pass).
        where: the config section it comes from (``"custom_hooks[0]"``), for the message.
    """
    absent = missing(component)
    if not absent:
        return
    text = message(component, absent)
    assert text is not None
    prefix = f"`{where}`: " if where else ""
    name = getattr(component, "__name__", None) or type(component).__name__
    raise MissingDependencyError(name, absent, f"{prefix}{text}, or remove `{name}` from the config.")
