"""pluggy plugins: registering them, and turning every way they fail into a :class:`PluginLoadError`.

A plugin is a module or object with ``@runnerkit.hookimpl`` functions (see :mod:`runnerkit.hookspecs`),
published under the ``runnerkit.plugins`` entry-point group or added at run time. This module owns
the pluggy ``PluginManager``; the container (:mod:`runnerkit._container`) asks it for the component
records the plugins provide.

One bad plugin never stops the others: a plugin module that raises anything at import
(``SystemExit`` included, ``KeyboardInterrupt`` not), a hook implementation that raises, returns
something that is not a mapping, or a mapping that fails when read, becomes that plugin's
:class:`PluginLoadError`; the other plugins' components are still collected.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pluggy

from runnerkit import hookspecs
from runnerkit._discovery import EntryRecord, describe
from runnerkit._errors import PluginLoadError
from runnerkit._records import KINDS, ComponentRecord, target_of

__all__ = ["PluginHost", "import_target", "plugin_name"]


def import_target(target: str) -> Any:
    """Import ``module:attr`` (``attr`` may be dotted) and return the object."""
    import importlib

    module_name, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in filter(None, attr.split(".")):
        obj = getattr(obj, part)
    return obj


def plugin_name(plugin: object) -> str:
    """The name a plugin is registered under unless one is given: its ``__name__`` or class name."""
    return str(getattr(plugin, "__name__", None) or type(plugin).__name__)


def describe_error(err: BaseException) -> str:
    """``RuntimeError('boom')``; ``SystemExit(3)`` says that the code called ``sys.exit``."""
    if isinstance(err, SystemExit):
        return f"it called `sys.exit({err.code!r})` (SystemExit)"
    try:
        return repr(err)
    except Exception:  # an exception whose repr fails is still reported
        return type(err).__name__


class PluginHost:
    """The pluggy ``PluginManager`` of one container, with each plugin's origin.

    Attributes:
        failed: plugin entry points that failed once (``name = value (group ...)`` -> the error);
            they are not imported again until :meth:`forget_installed`.
    """

    def __init__(self) -> None:
        self._pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        # id(plugin) -> (distribution, version, entry point description)
        self._origin: dict[int, tuple[str | None, str | None, str]] = {}
        self.failed: dict[str, PluginLoadError] = {}

    def register(self, plugin: object, name: str | None, dist: str | None, version: str | None, where: str) -> None:
        """Register ``plugin``; every failure (misspelled hook, duplicate name, ...) is a :class:`PluginLoadError`."""
        try:
            self._pm.register(plugin, name=name)
            self._pm.check_pending()
        except pluggy.PluginValidationError as err:
            self._drop(plugin)
            known = ", ".join(f"`{k.hook}`" for k in KINDS.values())
            raise PluginLoadError(
                dist, where,
                f"invalid pluggy plugin: {err}; runnerkit's hooks are {known}, each taking no argument "
                f"(check the spelling of the `@runnerkit.hookimpl` functions)",
            ) from err
        except ValueError as err:  # pluggy: this plugin, or another of that name, is registered
            raise PluginLoadError(
                dist, where, f"{str(err).splitlines()[0]}; register each plugin once, and give plugins distinct names "
                f"(`register_plugin(plugin, name=...)`)",
            ) from err
        except Exception as err:  # an object whose attributes raise when pluggy inspects them
            self._drop(plugin)
            raise PluginLoadError(dist, where, f"registering it failed: {describe_error(err)}") from err
        self._origin[id(plugin)] = (dist, version, where)

    def _drop(self, plugin: object) -> None:
        try:
            if self._pm.is_registered(plugin):
                self._pm.unregister(plugin)
        except Exception:
            pass

    def unregister(self, plugin: object) -> None:
        """Remove ``plugin`` (no error when it is not registered)."""
        if self._pm.is_registered(plugin):
            self._pm.unregister(plugin)
        self._origin.pop(id(plugin), None)

    def forget_installed(self) -> None:
        """Unregister the plugins that came from entry points and forget failures; run-time plugins stay."""
        for plugin, _ in self._pm.list_name_plugin():
            if self._origin.get(id(plugin), (None,))[0] is not None:
                self._pm.unregister(plugin)
                del self._origin[id(plugin)]
        self.failed.clear()

    def is_pending(self, entry: EntryRecord) -> bool:
        """Whether the entry's plugin has been neither registered nor given up on yet."""
        where = describe(entry)
        return where not in self.failed and all(origin[2] != where for origin in self._origin.values())

    def load_entry(self, entry: EntryRecord) -> PluginLoadError | None:
        """Import and register the plugin an entry point names (once); its failure, if any."""
        where = describe(entry)
        if any(origin[2] == where for origin in self._origin.values()):
            return None  # registered by an earlier collection
        if where not in self.failed:
            problem = self._try_entry(entry, where)
            if problem is None:
                return None
            self.failed[where] = problem
        return self.failed[where]

    def _try_entry(self, entry: EntryRecord, where: str) -> PluginLoadError | None:
        if entry["incompatible"]:
            return PluginLoadError(entry["dist"], where, entry["incompatible"])
        try:
            plugin = import_target(entry["value"])
        except KeyboardInterrupt:
            raise
        except BaseException as err:  # SystemExit too: one plugin must not end the process
            problem = PluginLoadError(entry["dist"], where, f"importing `{entry['value']}` failed: {describe_error(err)}")
            problem.__cause__ = err
            return problem
        try:
            self.register(plugin, f"{entry['dist']}:{entry['name']}", entry["dist"], entry["version"], where)
        except PluginLoadError as problem:
            return problem
        return None

    def records(self, problems: list[PluginLoadError]) -> list[ComponentRecord]:
        """The components every registered plugin provides; each failing hook adds to ``problems``."""
        records: list[ComponentRecord] = []
        for kind in KINDS.values():
            caller = getattr(self._pm.hook, kind.hook)
            for impl in caller.get_hookimpls():
                dist, version, where = self._origin.get(id(impl.plugin), (None, None, impl.plugin_name))
                provider = dist or impl.plugin_name
                try:
                    provided = _read_mapping(impl.function(), kind.hook)
                except KeyboardInterrupt:
                    raise
                except BaseException as err:
                    problem = PluginLoadError(dist, where, f"its hook `{kind.hook}` failed: {describe_error(err)}")
                    problem.__cause__ = err
                    problems.append(problem)
                    continue
                for name, value in provided:
                    is_str = isinstance(value, str)
                    records.append(
                        ComponentRecord(
                            kind=kind.name, name=name, target=value if is_str else target_of(value),
                            distribution=dist, version=version, source="plugin", provider=provider,
                            obj=None if is_str else value,
                        )
                    )
        return records


def _read_mapping(provided: Any, hook: str) -> list[tuple[str, Any]]:
    """``provided.items()`` checked: string keys, values a ``"module:attr"`` string or a class/callable."""
    if not isinstance(provided, Mapping):
        raise TypeError(
            f"`{hook}()` returned {type(provided).__name__}, expected a mapping name -> class or 'module:attr'"
        )
    items = list(provided.items())  # a mapping that fails when read fails here
    for name, value in items:
        if not isinstance(name, str) or not name:
            raise TypeError(f"`{hook}()` returned the key {name!r}; component names must be non-empty strings")
        if isinstance(value, str):
            module, sep, attr = value.partition(":")
            if not (sep and module and attr):
                raise TypeError(f"`{hook}()` returned `{name}: {value!r}`; a string must be 'module:attr'")
        elif not callable(value):
            raise TypeError(
                f"`{hook}()` returned `{name}: {type(value).__name__}`; give a class or a 'module:attr' string"
            )
    return items
