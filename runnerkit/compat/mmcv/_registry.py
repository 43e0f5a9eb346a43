"""mmcv's registries of runnerkit component kinds (``RUNNERS``, ``RUNNER_BUILDERS``, ``HOOKS``), stored in the container.

``@HOOKS.register_module()`` does not keep a dictionary of its own: it adds the class to a pluggy
plugin of this layer and registers that plugin with :func:`runnerkit.register_plugin`, as any
run-time registration, so the class is found by ``type`` in configs, by ``runnerkit list`` and by
``build_runner`` exactly like an installed component.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runnerkit._container import Container, default_container
from runnerkit._records import KINDS
from runnerkit.compat.mmcv.utils.registry import Registry
from runnerkit.hookspecs import hookimpl

__all__ = ["HOOKS", "RUNNERS", "RUNNER_BUILDERS", "ComponentRegistry"]

_SPEC = {name: kind.hook for name, kind in KINDS.items()}


class _Plugin:
    """The pluggy plugin that carries one registry's classes into the container."""

    def __init__(self, kind: str) -> None:
        self.components: dict[str, Any] = {}

        def provide() -> dict[str, Any]:
            return dict(self.components)

        setattr(self, _SPEC[kind], hookimpl(provide))


class ComponentRegistry(Registry):
    """mmcv's ``Registry`` API for one runnerkit component kind, stored in runnerkit's container.

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
        super().__init__(name, scope="mmcv")
        self.kind = kind
        self._container = container
        self._plugin = _Plugin(kind)
        self._plugin_name = f"runnerkit-compat-mmcv-{kind}s"

    @property
    def container(self) -> Container:
        return self._container or default_container()

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
        scope, real_key = self.split_scope_key(key)
        if scope is not None and scope in self._children:
            return self._children[scope].get(real_key)
        if scope == self._scope:
            key = real_key
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

    def build(self, cfg: Mapping[str, Any], default_args: Mapping[str, Any] | None = None) -> Any:  # type: ignore[override]
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

    def _register_module(self, cls: Any, name: str | list[str] | None = None, force: bool = False) -> None:
        """Add ``cls`` to the container (``register_module()`` ends here); runnerkit's own names are reserved."""
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


#: mmcv's registries; classes registered here are runnerkit components.
RUNNERS = ComponentRegistry("runner", "runner")
RUNNER_BUILDERS = ComponentRegistry("runner builder", "constructor")
HOOKS = ComponentRegistry("hook", "hook")
