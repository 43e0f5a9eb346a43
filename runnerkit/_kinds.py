"""What a component of each kind must be, and the rule that keeps config data from running code.

Two levels of trust (docs/security.md):

- **Declared components** (entry points of installed distributions, pluggy plugins) are code the
  user installed. A runner or hook must subclass its base class; a constructor, model or dataset
  may be any callable (a factory).
- **Names written in a config** as ``"module:attr"`` import paths are data. They may only name a
  *class* of the expected kind, checked before anything is called: runner -> a concrete
  ``BaseRunner`` subclass; constructor and optimizer_constructor -> a class whose instances are
  callable; hook -> a ``Hook``
  subclass; model -> a ``torch.nn.Module`` subclass; dataset -> a ``torch.utils.data.Dataset``
  subclass; optimizer -> a ``torch.optim.Optimizer`` subclass. Functions and other callables
  (``os:system``, ``subprocess:Popen``, ``builtins:exec``) are refused.
- **Objects** given directly (in Python or a ``.py`` config) are code; they must still be classes
  of the right kind, not instances (model and dataset factories may be functions).

The checks import no torch until a torch kind is asked about.
"""

from __future__ import annotations

import inspect
from typing import Any

__all__ = ["KIND_RULES", "component_problem", "config_class_problem", "object_problem"]

#: kind -> (``module:attr`` of the base class, how messages describe the rule).
KIND_RULES: dict[str, tuple[str | None, str]] = {
    "runner": ("runnerkit.runners.base:BaseRunner", "a concrete subclass of `runnerkit.BaseRunner`"),
    "constructor": (None, "a class whose instances are callable (defines `__call__`), such as a subclass of "
                          "`runnerkit.DefaultRunnerConstructor`"),
    "hook": ("runnerkit.hooks.hook:Hook", "a subclass of `runnerkit.Hook`"),
    "model": ("torch.nn:Module", "a subclass of `torch.nn.Module`"),
    "dataset": ("torch.utils.data:Dataset", "a subclass of `torch.utils.data.Dataset`"),
    "optimizer": ("torch.optim:Optimizer", "a subclass of `torch.optim.Optimizer`"),
    "optimizer_constructor": (None, "a class whose instances are callable (defines `__call__`), built with "
                                    "`(optimizer_cfg, paramwise_cfg)` and called with the model, such as a subclass of "
                                    "`runnerkit.optim.DefaultOptimizerConstructor`"),
}
#: kinds whose declared components (and objects given in code) may be factories, not classes.
FACTORY_KINDS = frozenset({"constructor", "model", "dataset", "optimizer_constructor"})
#: kinds whose classes are used through their instances' ``__call__``.
CALLABLE_KINDS = {"constructor": "build a runner", "optimizer_constructor": "build an optimizer"}


def _base(kind: str) -> type | None:
    from runnerkit._plugins import import_target

    path = KIND_RULES[kind][0]
    return None if path is None else import_target(path)  # type: ignore[no-any-return]


def shown(obj: Any) -> str:
    """How messages show an object: ``class Name``, ``function name``, ``int `3```."""
    if isinstance(obj, type):
        return f"the class `{obj.__module__}.{obj.__qualname__}`"
    if inspect.isroutine(obj):
        return f"the function `{getattr(obj, '__module__', None) or '?'}.{getattr(obj, '__qualname__', obj)}`"
    return f"{type(obj).__name__} `{_repr(obj)}`"


def _class_problem(kind: str, cls: type) -> str | None:
    """Why the class ``cls`` is not a ``kind`` (None: it is one)."""
    if kind in CALLABLE_KINDS:
        if not any("__call__" in vars(k) for k in cls.__mro__ if k is not object):
            return f"{shown(cls)} defines no `__call__`, so its instances cannot {CALLABLE_KINDS[kind]}"
        return None
    base = _base(kind)
    assert base is not None
    if not issubclass(cls, base):
        return f"{shown(cls)} is not {KIND_RULES[kind][1].replace('concrete ', '')}"
    if kind == "runner":
        if inspect.isabstract(cls):
            missing = ", ".join(f"`{m}`" for m in sorted(getattr(cls, "__abstractmethods__", ())))
            return f"{shown(cls)} is abstract (it does not implement {missing})"
        if getattr(cls, "run", None) is getattr(base, "run", None):
            return f"{shown(cls)} is abstract: it does not implement the training loop (`run`, `train`, `val`)"
    return None


def config_class_problem(kind: str, obj: Any) -> str | None:
    """Why an object a config names by import path may not be used as a ``kind`` (None: it may)."""
    if not isinstance(obj, type):
        what = "a function" if inspect.isroutine(obj) else "not a class"
        return f"it resolves to {shown(obj)}, which is {what}"
    problem = _class_problem(kind, obj)
    if problem is None and kind == "constructor":
        problem = _constructor_signature_problem(obj)
    return problem


def _constructor_signature_problem(cls: type) -> str | None:
    """A constructor is built as ``cls(runner_cfg=..., default_args=...)`` (mmcv's ``RUNNER_BUILDERS`` rule):
    a callable class that takes other arguments (``torch.fx.GraphModule``) is no constructor."""
    init = next(vars(k)["__init__"] for k in cls.__mro__ if "__init__" in vars(k))  # not __new__'s (*args, **kwargs)
    try:
        inspect.signature(init).bind(None, runner_cfg={}, default_args={})
    except (TypeError, ValueError):
        return (f"{shown(cls)} does not take `runner_cfg` and `default_args` (a constructor is built as "
                f"`Constructor(runner_cfg=..., default_args=...)`, as in mmcv)")
    return None


def object_problem(kind: str, obj: Any) -> tuple[type[Exception], str] | None:
    """Why an object given directly as ``type``/``constructor`` cannot be used, with the error class to raise."""
    if isinstance(obj, type):
        problem = _class_problem(kind, obj)
        return None if problem is None else (ValueError, problem)
    if kind in ("model", "dataset") and inspect.isfunction(obj):
        return None  # a factory function, given in code
    return TypeError, f"it is {shown(obj)}, an instance, not a class; give the class itself"


def component_problem(kind: str, obj: Any) -> str | None:
    """Why a declared component (entry point or plugin) is not of its kind (None: it is)."""
    got = obj.__name__ if isinstance(obj, type) else f"{type(obj).__name__} `{_repr(obj)}`"
    if kind in FACTORY_KINDS:
        return None if callable(obj) else f"a {kind} must be callable, got {got}"
    base = _base(kind)
    assert base is not None
    rule = KIND_RULES[kind][1].replace("concrete ", "")
    if not (isinstance(obj, type) and issubclass(obj, base)):
        return f"a {kind} must be {rule}, got {got}"
    problem = _class_problem(kind, obj)
    return None if problem is None else f"a {kind} must be concrete: {problem}"


def _repr(obj: Any) -> str:
    try:
        return f"{obj!r:.60}"
    except Exception:
        return "?"
