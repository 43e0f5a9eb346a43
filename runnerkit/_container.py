"""The component container: names -> component records -> loaded objects.

A :class:`Container` merges what discovery found in installed distributions' entry points with
what pluggy plugins return, resolves names (bare, qualified ``dist:Name``, ``module:attr`` or an
object), imports a component's module only when it is first asked for, and checks that the
object is of the right kind. One broken plugin never stops the others.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Iterable, Mapping
from typing import Any

import pluggy

from runnerkit import hookspecs
from runnerkit._discovery import EntryRecord, describe, scan
from runnerkit._errors import AmbiguousComponentError, PluginLoadError, UnknownComponentError
from runnerkit._records import (
    GROUP_TO_KIND,
    KINDS,
    PLUGIN_GROUP,
    ComponentRecord,
    normalize_dist,
    target_of,
)

_TRUE = {"1", "true", "yes", "on"}
_SELF = "runnerkit"


def _env_autoload() -> bool:
    return os.environ.get("RUNNERKIT_DISABLE_PLUGIN_AUTOLOAD", "").strip().lower() not in _TRUE


def _env_disabled() -> set[str]:
    raw = os.environ.get("RUNNERKIT_DISABLE_PLUGINS", "")
    return {normalize_dist(part.strip()) for part in raw.split(",") if part.strip()}


def import_target(target: str) -> Any:
    """Import ``module:attr`` (``attr`` may be dotted) and return the object."""
    module_name, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in filter(None, attr.split(".")):
        obj = getattr(obj, part)
    return obj


class Container:
    """Finds, names and loads runnerkit components.

    Args:
        autoload: read third-party entry points (default: unless
            ``RUNNERKIT_DISABLE_PLUGIN_AUTOLOAD=1``). runnerkit's own components are always read.
        disabled: distribution names to ignore (default: ``RUNNERKIT_DISABLE_PLUGINS``).
        plugins: pluggy plugins (modules or objects) to register from the start.
        path: where to look for distributions (default: ``sys.path``). Components are imported
            by Python's import system, so these folders must also be importable (on ``sys.path``).

    Example:
        >>> from runnerkit import Container
        >>> c = Container(autoload=False)
        >>> c.lookup("runner", "IterBasedRunner").distribution
        'runnerkit'
    """

    def __init__(
        self,
        *,
        autoload: bool | None = None,
        disabled: Iterable[str] | None = None,
        plugins: Iterable[object] = (),
        path: list[str] | None = None,
    ) -> None:
        self.autoload = _env_autoload() if autoload is None else autoload
        self.disabled = _env_disabled() if disabled is None else {normalize_dist(d) for d in disabled}
        self._path = path
        self._pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        # plugin object -> (distribution, version, entry point description)
        self._plugin_origin: dict[int, tuple[str | None, str | None, str]] = {}
        self._records: list[ComponentRecord] | None = None
        self._problems: list[PluginLoadError] = []
        self._entries: list[EntryRecord] | None = None
        # plugin entry points that failed once: not imported again until refresh()
        self._failed: dict[str, PluginLoadError] = {}
        for plugin in plugins:
            self.register_plugin(plugin)

    # -- plugins ---------------------------------------------------------------------------

    def register_plugin(self, plugin: object, name: str | None = None) -> None:
        """Add a pluggy plugin (a module or object with ``@runnerkit.hookimpl`` functions).

        Raises:
            PluginLoadError: the plugin implements a hook that does not exist (a misspelling)
                or with the wrong signature.
        """
        self._register(plugin, name or _plugin_name(plugin), None, None, name or _plugin_name(plugin))
        self._records = None

    def unregister_plugin(self, plugin: object) -> None:
        """Remove a plugin added with :meth:`register_plugin`; its components disappear."""
        if self._pm.is_registered(plugin):
            self._pm.unregister(plugin)
        self._plugin_origin.pop(id(plugin), None)
        self._records = None

    def _register(
        self, plugin: object, name: str | None, dist: str | None, version: str | None, where: str
    ) -> None:
        try:
            self._pm.register(plugin, name=name)
            self._pm.check_pending()
        except pluggy.PluginValidationError as err:
            if self._pm.is_registered(plugin):
                self._pm.unregister(plugin)
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
        self._plugin_origin[id(plugin)] = (dist, version, where)

    # -- records ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Forget what was discovered; the next lookup scans (or reads the cache) again.

        Plugins registered from entry points are dropped too (their distribution may be gone);
        run-time plugins stay.
        """
        for plugin, _ in self._pm.list_name_plugin():
            if self._plugin_origin.get(id(plugin), (None,))[0] is not None:
                self._pm.unregister(plugin)
                del self._plugin_origin[id(plugin)]
        self._failed.clear()
        self._records = None
        self._entries = None

    @property
    def problems(self) -> list[PluginLoadError]:
        """Plugins that could not be loaded at all (their components are unknown)."""
        self._ensure()
        return list(self._problems)

    def records(self, kind: str | None = None) -> list[ComponentRecord]:
        """All known components (of ``kind``), sorted by kind and name. Imports no component."""
        recs = self._ensure()
        if kind is not None:
            _check_kind(kind)
            recs = [r for r in recs if r.kind == kind]
        return list(recs)

    def _ensure(self) -> list[ComponentRecord]:
        if self._records is None:
            self._records, self._problems = self._collect()
        return self._records

    def _allowed(self, dist: str) -> bool:
        norm = normalize_dist(dist)
        if norm == _SELF:
            return True
        return self.autoload and norm not in self.disabled

    def _collect(self) -> tuple[list[ComponentRecord], list[PluginLoadError]]:
        if self._entries is None:
            self._entries = scan(self._path)
        records: list[ComponentRecord] = []
        problems: list[PluginLoadError] = []
        for entry in self._entries:
            if not self._allowed(entry["dist"]):
                continue
            if entry["group"] == PLUGIN_GROUP:
                self._load_plugin_entry(entry, problems)
                continue
            records.append(
                ComponentRecord(
                    kind=GROUP_TO_KIND[entry["group"]], name=entry["name"], target=entry["value"],
                    distribution=entry["dist"], version=entry["version"], source="entry-point",
                    provider=entry["dist"], incompatible=entry["incompatible"],
                )
            )
        records.extend(self._plugin_records(problems))
        # One provider offering one name twice (entry point and plugin): the first wins.
        unique: dict[tuple[str, str, str], ComponentRecord] = {}
        for rec in records:
            unique.setdefault((rec.kind, rec.name, normalize_dist(rec.provider)), rec)
        ordered = sorted(unique.values(), key=lambda r: (r.kind, r.name.lower(), r.provider))
        return ordered, problems

    def _load_plugin_entry(self, entry: EntryRecord, problems: list[PluginLoadError]) -> None:
        where = describe(entry)
        if any(origin[2] == where for origin in self._plugin_origin.values()):
            return  # registered by an earlier collection
        if where in self._failed:
            problems.append(self._failed[where])
            return
        problem = self._try_plugin_entry(entry, where)
        if problem is not None:
            self._failed[where] = problem
            problems.append(problem)

    def _try_plugin_entry(self, entry: EntryRecord, where: str) -> PluginLoadError | None:
        if entry["incompatible"]:
            return PluginLoadError(entry["dist"], where, entry["incompatible"])
        try:
            plugin = import_target(entry["value"])
        except Exception as err:
            problem = PluginLoadError(entry["dist"], where, f"importing `{entry['value']}` failed: {err!r}")
            problem.__cause__ = err
            return problem
        try:
            self._register(plugin, f"{entry['dist']}:{entry['name']}", entry["dist"], entry["version"], where)
        except PluginLoadError as problem:
            return problem
        return None

    def _plugin_records(self, problems: list[PluginLoadError]) -> list[ComponentRecord]:
        records: list[ComponentRecord] = []
        for kind in KINDS.values():
            caller = getattr(self._pm.hook, kind.hook)
            for impl in caller.get_hookimpls():
                dist, version, where = self._plugin_origin.get(id(impl.plugin), (None, None, impl.plugin_name))
                provider = dist or impl.plugin_name
                try:
                    provided = impl.function()
                    if not isinstance(provided, Mapping):
                        raise TypeError(f"`{kind.hook}()` returned {type(provided).__name__}, expected a mapping name -> class or 'module:attr'")
                except Exception as err:
                    problem = PluginLoadError(dist, where, f"its hook `{kind.hook}` failed: {err!r}")
                    problem.__cause__ = err
                    problems.append(problem)
                    continue
                for name, value in provided.items():
                    is_str = isinstance(value, str)
                    records.append(
                        ComponentRecord(
                            kind=kind.name, name=str(name), target=value if is_str else target_of(value),
                            distribution=dist, version=version, source="plugin", provider=provider,
                            obj=None if is_str else value,
                        )
                    )
        return records

    # -- lookup and loading ----------------------------------------------------------------

    def lookup(self, kind: str, name: str) -> ComponentRecord:
        """The one record of ``kind`` called ``name`` (bare, ``dist:Name`` or ``module:attr``).

        Raises:
            UnknownComponentError: nothing has that name (the message lists the closest ones).
            AmbiguousComponentError: several distributions provide that bare name.
        """
        _check_kind(kind)
        if not isinstance(name, str):
            raise TypeError(f"A {kind} name must be a string, got {type(name).__name__} `{name!r}`.")
        recs = self.records(kind)
        prefix, sep, bare = name.rpartition(":")
        if sep:
            norm = normalize_dist(prefix)
            matches = [r for r in recs if normalize_dist(r.provider) == norm and r.name == bare]
            if matches:
                return matches[0]
            if any(normalize_dist(r.provider) == norm for r in self.records()):
                raise UnknownComponentError(kind, name, self._suggest(kind, bare, recs), f" `{prefix}` provides no {kind} `{bare}`.")
            if _importable(prefix):
                return ComponentRecord(kind=kind, name=name, target=name, distribution=None, version=None, source="import", provider=prefix)
            raise UnknownComponentError(kind, name, self._suggest(kind, bare, recs), f" No installed distribution or module is called `{prefix}`.")
        matches = [r for r in recs if r.name == name]
        if not matches:
            raise UnknownComponentError(kind, name, self._suggest(kind, name, recs))
        if len(matches) > 1:
            raise AmbiguousComponentError(kind, name, [r.provider for r in matches])
        return matches[0]

    @staticmethod
    def _suggest(kind: str, name: str, recs: list[ComponentRecord]) -> list[str]:
        import difflib

        names = sorted({r.name for r in recs})
        lowered = {n.lower(): n for n in names}
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
        exact_case = lowered.get(name.lower())
        if exact_case and exact_case not in close:
            close.insert(0, exact_case)
        return close

    def get(self, kind: str, spec: Any) -> Any:
        """The component object for ``spec``: a name as :meth:`lookup` takes, or the object itself.

        Raises:
            UnknownComponentError, AmbiguousComponentError: as :meth:`lookup`.
            PluginLoadError: the component cannot be imported or is not of the right kind.
        """
        if not isinstance(spec, str):
            _check_object(kind, spec, None, target_of(spec), "(given as an object)")
            return spec
        return self.load(self.lookup(kind, spec))

    def load(self, record: ComponentRecord) -> Any:
        """Import a record's target (once) and check it is of the record's kind."""
        where, origin = self._where(record)
        if record.obj is not None:
            _check_object(record.kind, record.obj, record.distribution, where, origin)
            return record.obj
        if record.incompatible:
            raise PluginLoadError(record.distribution, where, record.incompatible, origin=origin)
        try:
            obj = import_target(record.target)
        except Exception as err:
            raise PluginLoadError(
                record.distribution, where, f"importing `{record.target}` failed: {err!r}", origin=origin
            ) from err
        _check_object(record.kind, obj, record.distribution, where, origin)
        record.obj = obj
        return obj

    @staticmethod
    def _where(record: ComponentRecord) -> tuple[str, str | None]:
        """How messages name the record, and where it came from (None: from its distribution)."""
        if record.source == "entry-point":
            return f"{record.name} = {record.target} (group `{KINDS[record.kind].group}`)", None
        if record.source == "import":
            return record.target, "(given as `module:attr`)"
        where = f"{record.name} = {record.target}"
        if record.distribution:
            return where, f"from the pluggy plugin of distribution `{record.distribution}`"
        return where, f"from run-time plugin `{record.provider}`"


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"Unknown component kind `{kind}`; expected one of {', '.join(KINDS)}.")


def _check_object(kind: str, obj: Any, dist: str | None, where: str, origin: str | None = None) -> None:
    base_path = KINDS[kind].base
    if base_path is None:
        if not callable(obj):
            raise PluginLoadError(
                dist, where, f"a {kind} must be callable, got {type(obj).__name__} `{obj!r:.60}`", origin=origin
            )
        return
    base = import_target(base_path)
    if not (isinstance(obj, type) and issubclass(obj, base)):
        shown = obj.__name__ if isinstance(obj, type) else f"{type(obj).__name__} `{obj!r:.60}`"
        raise PluginLoadError(
            dist, where, f"a {kind} must be a subclass of `runnerkit.{base.__name__}`, got {shown}", origin=origin
        )


def _plugin_name(plugin: object) -> str:
    return str(getattr(plugin, "__name__", None) or type(plugin).__name__)


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


_default: Container | None = None


def default_container() -> Container:
    """The process-wide container behind :func:`runnerkit.build` (created on first use)."""
    global _default
    if _default is None:
        _default = Container()
    return _default


def register_plugin(plugin: object, name: str | None = None) -> None:
    """Add a pluggy plugin to the default container at run time (see :class:`Container`)."""
    default_container().register_plugin(plugin, name)


def unregister_plugin(plugin: object) -> None:
    """Remove a plugin added with :func:`register_plugin`."""
    default_container().unregister_plugin(plugin)
