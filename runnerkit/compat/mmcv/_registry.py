"""mmcv-shaped registries (``RUNNERS``, ``RUNNER_BUILDERS``, ``HOOKS``) on top of the component container.

``@HOOKS.register_module()`` does not keep a dictionary of its own: it adds the class to a pluggy
plugin of this layer and registers that plugin with :func:`runnerkit.register_plugin`, as any
run-time registration, so the class is found by ``type`` in configs, by ``runnerkit list`` and by
``build_runner`` exactly like an installed component.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from runnerkit._container import Container, default_container
from runnerkit.hookspecs import hookimpl

__all__ = ["HOOKS", "RUNNERS", "RUNNER_BUILDERS", "Registry"]

_SPEC = {"runner": "runnerkit_runners", "constructor": "runnerkit_constructors", "hook": "runnerkit_hooks"}


class _Plugin:
    """The pluggy plugin that carries one registry's classes into the container."""

    def __init__(self, kind: str) -> None:
        self.components: dict[str, Any] = {}

        def provide() -> dict[str, Any]:
            return dict(self.components)

        setattr(self, _SPEC[kind], hookimpl(provide))


class Registry:
    """mmcv's ``Registry`` API for one component kind, stored in runnerkit's container.

    Args:
        name: the registry's name (``"hook"``), as mmcv prints it.
        kind: the component kind (``"runner"``, ``"constructor"`` or ``"hook"``).
        container: the container to register in (default: the process-wide one).

    Example:
        >>> from runnerkit.compat.mmcv.runner import HOOKS, Hook
        >>> @HOOKS.register_module()
        ... class MyHook(Hook):
        ...     pass
        >>> HOOKS.get("MyHook") is MyHook
        True
    """

    def __init__(self, name: str, kind: str, container: Container | None = None) -> None:
        self._name = name
        self.kind = kind
        self._container = container
        self._plugin = _Plugin(kind)
        self._plugin_name = f"runnerkit-compat-mmcv-{kind}s"

    @property
    def container(self) -> Container:
        return self._container or default_container()

    @property
    def name(self) -> str:
        return self._name

    @property
    def module_dict(self) -> dict[str, Any]:
        """Every component of this kind by name (runnerkit's, installed and registered here); classes are imported."""
        out: dict[str, Any] = {}
        for record in self.container.records(self.kind):
            if record.shadowed is None and record.name not in out:
                try:
                    out[record.name] = self.container.load(record)
                except Exception:  # a broken plugin is reported by `runnerkit list`, not here
                    continue
        return out

    def get(self, key: str) -> Any:
        """The class called ``key``, or None when there is none (as mmcv)."""
        if key in self._plugin.components:
            return self._plugin.components[key]
        try:
            return self.container.get(self.kind, key)
        except (KeyError, LookupError):
            return None

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __len__(self) -> int:
        return len(self.container.records(self.kind))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self._name}, items={sorted(self._plugin.components)})"

    def build(self, cfg: Mapping[str, Any], default_args: Mapping[str, Any] | None = None) -> Any:
        """Build ``cfg["type"]`` with the rest of ``cfg`` over ``default_args`` (mmcv ``build_from_cfg``)."""
        if not isinstance(cfg, Mapping):
            raise TypeError(f"cfg must be a dict, but got {type(cfg).__name__}")
        if "type" not in cfg and (default_args is None or "type" not in default_args):
            raise KeyError(f'`cfg` or `default_args` must contain the key "type", but got {dict(cfg)} and {default_args}')
        args = dict(default_args or {})
        args.update(cfg)
        spec = args.pop("type")
        cls = self.container.get(self.kind, spec) if isinstance(spec, str) else spec
        try:
            return cls(**args)
        except TypeError as err:
            raise TypeError(f"{getattr(cls, '__name__', cls)}: {err}") from err

    def register_module(self, name: str | list[str] | None = None, force: bool = False, module: type | None = None) -> Any:
        """Register a class, as a decorator (``@HOOKS.register_module()``) or directly (``module=Cls``).

        Args:
            name: the name(s) to register under (default: the class name).
            force: replace a class this layer registered earlier under the same name.
            module: the class (instead of decorating).

        Raises:
            KeyError: the name is taken and ``force`` is False, or it is one of runnerkit's own
                (reserved) names.
            TypeError: ``name`` or ``module`` has the wrong type.
        """
        if not isinstance(force, bool):
            raise TypeError(f"force must be a boolean, but got {type(force)}")
        if not (name is None or isinstance(name, str) or (isinstance(name, list) and all(isinstance(n, str) for n in name))):
            raise TypeError(f"name must be either of None, an instance of str or a sequence of str, but got {type(name)}")
        if module is not None:
            self._register(module, name, force)
            return module

        def decorator(cls: type) -> type:
            self._register(cls, name, force)
            return cls

        return decorator

    def _register(self, cls: Any, name: str | list[str] | None, force: bool) -> None:
        if not isinstance(cls, type):
            raise TypeError(f"module must be a class, but got {type(cls)}")
        names = [cls.__name__] if name is None else [name] if isinstance(name, str) else list(name)
        for key in names:
            if key in self._plugin.components:
                if not force:
                    raise KeyError(f"{key} is already registered in {self._name}")
                continue
            if self._taken(key):
                raise KeyError(
                    f"{key} is already registered in {self._name}: runnerkit provides a {self.kind} `{key}` "
                    "(installed names are reserved); register yours under another name."
                )
        for key in names:
            self._plugin.components[key] = cls
        self._refresh()

    def _taken(self, key: str) -> bool:
        return any(r.name == key for r in self.container.records(self.kind))

    def _refresh(self) -> None:
        # Re-registering the plugin makes the container read its (changed) components again.
        container = self.container
        container.unregister_plugin(self._plugin)
        container.register_plugin(self._plugin, name=self._plugin_name)

    def _remove(self, key: str) -> None:
        """Forget a class registered here (for tests)."""
        self._plugin.components.pop(key, None)
        self._refresh()


def _constructor_builder(registry: Registry) -> Callable[..., Any]:
    return registry.build


#: mmcv's registries; classes registered here are runnerkit components.
RUNNERS = Registry("runner", "runner")
RUNNER_BUILDERS = Registry("runner builder", "constructor")
HOOKS = Registry("hook", "hook")
