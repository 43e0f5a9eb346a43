"""mmcv's ``Registry`` and ``build_from_cfg`` for registries the container has no kind for (models, datasets, ...).

A downstream project's ``MODELS = Registry("model")``, its children (``Registry("model",
parent=MODELS)`` with a scope taken from the defining package) and scoped names
(``"mmdet.ResNet"``) behave as in mmcv 1.7.2. The registries of runnerkit's own component kinds
(``mmcv.runner.HOOKS``, ``RUNNERS``, ``RUNNER_BUILDERS``) are a subclass that stores in the
container instead (:mod:`runnerkit.compat.mmcv._registry`).
"""

from __future__ import annotations

import inspect
import sys
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["Registry", "build_from_cfg"]


def build_from_cfg(cfg: dict[str, Any], registry: Registry, default_args: dict[str, Any] | None = None) -> Any:
    """Build ``cfg["type"]`` (a name in ``registry``, a class or a function) with the other keys of
    ``cfg`` over ``default_args``.

    Raises:
        TypeError: ``cfg``/``default_args`` are not dicts, ``registry`` is not a Registry, or ``type``
            is neither a name nor a class/function.
        KeyError: no ``type``, or a name the registry does not hold.

    Example:
        >>> MODELS = Registry("models")
        >>> @MODELS.register_module()
        ... class Net:
        ...     def __init__(self, depth=1):
        ...         self.depth = depth
        >>> build_from_cfg(dict(type="Net", depth=3), MODELS).depth
        3
    """
    if not isinstance(cfg, dict):
        raise TypeError(f"cfg must be a dict, but got {type(cfg)}")
    if "type" not in cfg and (default_args is None or "type" not in default_args):
        raise KeyError(f'`cfg` or `default_args` must contain the key "type", but got {cfg}\n{default_args}')
    if not isinstance(registry, Registry):
        raise TypeError(f"registry must be an mmcv.Registry object, but got {type(registry)}")
    if not (isinstance(default_args, dict) or default_args is None):
        raise TypeError(f"default_args must be a dict or None, but got {type(default_args)}")
    args = dict(cfg)
    for name, value in (default_args or {}).items():
        args.setdefault(name, value)
    obj_type = args.pop("type")
    if isinstance(obj_type, str):
        obj_cls = registry.get(obj_type)
        if obj_cls is None:
            raise KeyError(f"{obj_type} is not in the {registry.name} registry")
    elif inspect.isclass(obj_type) or inspect.isfunction(obj_type):
        obj_cls = obj_type
    else:
        raise TypeError(f"type must be a str or valid type, but got {type(obj_type)}")
    try:
        return obj_cls(**args)
    except Exception as err:
        if hasattr(err, "add_note"):  # mmcv prefixed the message; a note keeps the exception and its frame
            err.add_note(f"while building {getattr(obj_cls, '__name__', obj_cls)} from the {registry.name} registry")
        raise


class Registry:
    """Names to classes or functions, built by ``build`` (mmcv 1.7.2's ``Registry``).

    Args:
        name: the registry's name (shown in messages).
        build_func: builds from a config (``build_func(cfg, registry=..., ...)``); default: the
            parent's, else :func:`build_from_cfg`.
        parent: a registry that can build this one's classes as ``"<scope>.<name>"``.
        scope: default: the top-level package of the module that creates the registry.

    Example:
        >>> MODELS = Registry("models")
        >>> DET = Registry("models", parent=MODELS, scope="mmdet")
        >>> @DET.register_module()
        ... class ResNet:
        ...     pass
        >>> MODELS.get("mmdet.ResNet") is ResNet
        True
    """

    def __init__(self, name: str, build_func: Callable[..., Any] | None = None, parent: Registry | None = None,
                 scope: str | None = None) -> None:
        self._name = name
        self._module_dict: dict[str, Any] = {}
        self._children: dict[str, Registry] = {}
        self._scope = self.infer_scope() if scope is None else scope
        if build_func is None:
            build_func = parent.build_func if parent is not None else build_from_cfg
        self.build_func: Callable[..., Any] = build_func
        self.parent: Registry | None = None
        if parent is not None:
            if not isinstance(parent, Registry):
                raise TypeError(f"parent must be a Registry, but got {type(parent).__name__}")
            parent._add_children(self)
            self.parent = parent

    def __len__(self) -> int:
        return len(self._module_dict)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self._name}, items={self._module_dict})"

    @staticmethod
    def infer_scope() -> str:
        """The top-level package of the module that called the registry's constructor."""
        frame = sys._getframe(2)
        while frame.f_back is not None and frame.f_code.co_name == "__init__" and \
                isinstance(frame.f_locals.get("self"), Registry):
            frame = frame.f_back  # a subclass's __init__ calling ours
        return str(frame.f_globals.get("__name__", "__main__")).split(".")[0]

    @staticmethod
    def split_scope_key(key: str) -> tuple[str | None, str]:
        """``"mmdet.ResNet"`` -> ``("mmdet", "ResNet")``; ``"ResNet"`` -> ``(None, "ResNet")``."""
        scope, dot, rest = key.partition(".")
        return (scope, rest) if dot else (None, key)

    @property
    def name(self) -> str:
        return self._name

    @property
    def scope(self) -> str:
        return self._scope

    @property
    def module_dict(self) -> dict[str, Any]:
        return self._module_dict

    @property
    def children(self) -> dict[str, Registry]:
        return self._children

    def get(self, key: str) -> Any:
        """The class registered as ``key`` (``"scope.Name"`` looks in that scope's registry), or None."""
        scope, real_key = self.split_scope_key(key)
        if scope is None or scope == self._scope:
            return self._module_dict.get(real_key)
        if scope in self._children:
            return self._children[scope].get(real_key)
        root = self
        while root.parent is not None:
            root = root.parent
        return None if root is self else root.get(key)

    def build(self, *args: Any, **kwargs: Any) -> Any:
        """``build_func(*args, **kwargs, registry=self)``."""
        return self.build_func(*args, **kwargs, registry=self)

    def _add_children(self, registry: Registry) -> None:
        if registry.scope in self._children:
            raise KeyError(f"scope {registry.scope} exists in {self.name} registry; give the child another scope=")
        self._children[registry.scope] = registry

    def _register_module(self, module: Any, module_name: str | list[str] | None = None, force: bool = False) -> None:
        if not (inspect.isclass(module) or inspect.isfunction(module)):
            raise TypeError(f"module must be a class or a function, but got {type(module)}")
        names = [module.__name__] if module_name is None else [module_name] if isinstance(module_name, str) \
            else list(module_name)
        for key in names:
            if not force and key in self._module_dict:
                raise KeyError(f"{key} is already registered in {self.name}")
        for key in names:
            self._module_dict[key] = module

    def register_module(self, name: str | list[str] | None = None, force: bool = False, module: Any = None) -> Any:
        """Register a class or function: ``@REG.register_module()``, ``(name="X")``, ``(module=Cls)``.

        Raises:
            KeyError: the name is taken and ``force`` is False.
            TypeError: ``name``, ``force`` or ``module`` has the wrong type.
        """
        if not isinstance(force, bool):
            raise TypeError(f"force must be a boolean, but got {type(force)}")
        if isinstance(name, type):  # mmcv's deprecated `register_module(Cls)`
            warnings.warn("The old API of register_module(module, force=False) is deprecated; use "
                          "register_module(name=None, force=False, module=None)", DeprecationWarning, stacklevel=2)
            self._register_module(name, None, force)
            return name
        if not (name is None or isinstance(name, str) or
                (isinstance(name, list) and all(isinstance(n, str) for n in name))):
            raise TypeError(f"name must be either of None, an instance of str or a sequence of str, but got {type(name)}")
        if module is not None:
            self._register_module(module, name, force)
            return module

        def decorator(cls: Any) -> Any:
            self._register_module(cls, name, force)
            return cls

        return decorator
