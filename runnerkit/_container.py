"""The component container: names -> component records -> loaded objects.

A :class:`Container` merges what discovery found in installed distributions' entry points with
what pluggy plugins return, resolves names (bare, qualified ``dist:Name``, ``module:attr`` or an
object), imports a component's module only when it is first asked for, and checks that the
object is of the right kind. One broken plugin never stops the others.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterable
from typing import Any

from runnerkit._discovery import EntryRecord, describe, scan
from runnerkit._errors import (
    AmbiguousComponentError,
    ComponentTypeError,
    ConfigError,
    PluginLoadError,
    UnknownComponentError,
)
from runnerkit._kinds import KIND_RULES, component_problem, config_class_problem, object_problem
from runnerkit._plugins import PluginHost, describe_error, import_target, plugin_name
from runnerkit._records import (
    GROUP_TO_KIND,
    KINDS,
    PLUGIN_GROUP,
    ComponentRecord,
    normalize_dist,
)

__all__ = ["Container", "default_container", "import_target", "register_plugin", "unregister_plugin"]

_TRUE = {"1", "true", "yes", "on"}
_SELF = "runnerkit"


def _env_autoload() -> bool:
    return os.environ.get("RUNNERKIT_DISABLE_PLUGIN_AUTOLOAD", "").strip().lower() not in _TRUE


def _env_disabled() -> set[str]:
    raw = os.environ.get("RUNNERKIT_DISABLE_PLUGINS", "")
    return {normalize_dist(part.strip()) for part in raw.split(",") if part.strip()}


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
        self._host = PluginHost()
        self._records: list[ComponentRecord] | None = None
        self._problems: list[PluginLoadError] = []
        self._entries: list[EntryRecord] | None = None
        self._own: dict[tuple[str, str], ComponentRecord] | None = None
        for plugin in plugins:
            self.register_plugin(plugin)

    # -- plugins ---------------------------------------------------------------------------

    def register_plugin(self, plugin: object, name: str | None = None) -> None:
        """Add a pluggy plugin (a module or object with ``@runnerkit.hookimpl`` functions).

        Raises:
            PluginLoadError: the plugin implements a hook that does not exist (a misspelling)
                or with the wrong signature.
        """
        name = name or plugin_name(plugin)
        self._host.register(plugin, name, None, None, name)
        self._records = None

    def unregister_plugin(self, plugin: object) -> None:
        """Remove a plugin added with :meth:`register_plugin`; its components disappear."""
        self._host.unregister(plugin)
        self._records = None

    # -- records ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Forget what was discovered; the next lookup scans (or reads the cache) again.

        Plugins registered from entry points are dropped too (their distribution may be gone);
        run-time plugins stay.
        """
        self._host.forget_installed()
        self._records = None
        self._entries = None
        self._own = None

    def screen_plugins(self, timeout: float | None = None) -> None:
        """Ask every plugin module not yet imported in a child process first (see :mod:`runnerkit._probe`).

        A plugin whose import (or hooks) does not finish within ``timeout`` seconds (default
        ``RUNNERKIT_PLUGIN_TIMEOUT``, else 10), or that ends its process, becomes that plugin's
        :class:`PluginLoadError` and is never imported in this process; the others load as usual.
        """
        from runnerkit._probe import probe, timeout_from_env

        pending = {
            entry["value"]: entry for entry in self._scanned()
            if entry["group"] == PLUGIN_GROUP and self._allowed(entry["dist"]) and not entry["incompatible"]
            and self._host.is_pending(entry)
        }
        if not pending:
            return
        hooks = [kind.hook for kind in KINDS.values()]
        verdicts = probe(sorted(pending), hooks, timeout_from_env() if timeout is None else timeout)
        for target, reason in verdicts.items():
            entry = pending[target]
            self._host.failed[describe(entry)] = PluginLoadError(entry["dist"], describe(entry), reason)
        if verdicts:
            self._records = None

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

    def _scanned(self) -> list[EntryRecord]:
        if self._entries is None:
            self._entries = scan(self._path)
        return self._entries

    def _collect(self) -> tuple[list[ComponentRecord], list[PluginLoadError]]:
        records: list[ComponentRecord] = []
        problems: list[PluginLoadError] = []
        for entry in self._scanned():
            if not self._allowed(entry["dist"]):
                continue
            if entry["group"] == PLUGIN_GROUP:
                problem = self._host.load_entry(entry)
                if problem is not None:
                    problems.append(problem)
                continue
            records.append(_entry_record(entry))
        records.extend(self._host.records(problems))
        # One provider offering one name twice (entry point and plugin): the first wins.
        unique: dict[tuple[str, str, str], ComponentRecord] = {}
        for rec in records:
            unique.setdefault((rec.kind, rec.name, normalize_dist(rec.provider)), rec)
        _mark_shadowed(unique.values())
        ordered = sorted(unique.values(), key=lambda r: (r.kind, r.name.lower(), r.provider))
        return ordered, problems

    # -- lookup and loading ----------------------------------------------------------------

    def lookup(self, kind: str, name: str) -> ComponentRecord:
        """The one record of ``kind`` called ``name`` (bare, ``dist:Name`` or ``module:attr``).

        A bare name runnerkit itself provides always means runnerkit's component; a third-party
        component of the same name is reached by its qualified name only.

        Raises:
            UnknownComponentError: nothing has that name (the message lists the closest ones).
            AmbiguousComponentError: several distributions provide that bare name.
            PluginLoadError: a qualified name of a distribution whose plugin failed to load.
        """
        _check_kind(kind)
        if not isinstance(name, str):
            raise TypeError(f"A {kind} name must be a string, got {type(name).__name__} `{name!r:.60}`.")
        own = self._own_record(kind, name)
        if own is not None:  # reserved: no third-party plugin module needs importing to know it
            return own
        recs = self.records(kind)
        prefix, sep, bare = name.rpartition(":")
        if sep:
            norm = normalize_dist(prefix)
            matches = [r for r in recs if normalize_dist(r.provider) == norm and r.name == bare]
            if matches:
                return matches[0]
            broken = [p for p in self._problems if p.distribution and normalize_dist(p.distribution) == norm]
            if broken:
                raise broken[0]
            if any(normalize_dist(r.provider) == norm for r in self.records()):
                raise UnknownComponentError(kind, name, self._suggest(kind, bare, recs), f" `{prefix}` provides no {kind} `{bare}`.")
            if _importable(prefix):
                return ComponentRecord(kind=kind, name=name, target=name, distribution=None, version=None, source="import", provider=prefix)
            raise UnknownComponentError(kind, name, self._suggest(kind, bare, recs), f" No installed distribution or module is called `{prefix}`.")
        matches = [r for r in recs if r.name == name and r.shadowed is None]
        if not matches:
            raise UnknownComponentError(kind, name, self._suggest(kind, name, recs), broken=self._problems)
        if len(matches) > 1:
            raise AmbiguousComponentError(kind, name, [r.provider for r in matches])
        return matches[0]

    def _own_record(self, kind: str, name: str) -> ComponentRecord | None:
        """runnerkit's own component of that bare name, known from its metadata alone."""
        if self._own is None:
            self._own = {}
            for entry in self._scanned():
                if entry["group"] != PLUGIN_GROUP and normalize_dist(entry["dist"]) == _SELF:
                    rec = _entry_record(entry)
                    self._own[(rec.kind, rec.name)] = rec
        return self._own.get((kind, name))

    @staticmethod
    def _suggest(kind: str, name: str, recs: list[ComponentRecord]) -> list[str]:
        from runnerkit._suggest import closest

        names = sorted({r.name for r in recs})
        lowered = {n.lower(): n for n in names}
        close = closest(name, names)
        exact_case = lowered.get(name.lower())
        if exact_case and exact_case not in close:
            close.insert(0, exact_case)
        return close

    def get(self, kind: str, spec: Any, key: str = "type") -> Any:
        """The component object for ``spec``: a name as :meth:`lookup` takes, or the object itself.

        A ``"module:attr"`` import path is data (it may come from a JSON/YAML/TOML config): it is
        only accepted when it names a class of the expected kind, checked before anything is
        called (:mod:`runnerkit._kinds`). An object given directly must be a class, not an instance.

        Args:
            kind: ``runner``, ``constructor``, ``hook``, ``model`` or ``dataset``.
            spec: a name, ``"dist:Name"``, ``"module:attr"``, or a class.
            key: the config key ``spec`` came from, for messages (``type``, ``constructor``, ``model.type``).

        Raises:
            UnknownComponentError, AmbiguousComponentError: as :meth:`lookup`.
            PluginLoadError: the component cannot be imported or is not of the right kind.
            ConfigError: an import path or class that is not a class of the expected kind.
            ComponentTypeError: ``spec`` is an instance, not a class or a name (a ``TypeError``).
        """
        if not isinstance(spec, str):
            _check_kind(kind)
            refused = object_problem(kind, spec)
            if refused is not None:
                error, problem = refused
                rule = f"`{key}` must name a {kind} by name or give {KIND_RULES[kind][1]}"
                if error is TypeError:
                    raise ComponentTypeError(f"`{key}`: {problem}. {rule}.")
                raise ConfigError(f"`{key}`: {problem}. {rule}.")
            return spec
        record = self.lookup(kind, spec)
        if record.source == "import":
            return Container._load_import_path(record, key)
        return self.load(record)

    @staticmethod
    def _load_import_path(record: ComponentRecord, key: str) -> Any:
        try:
            obj = import_target(record.target)
        except KeyboardInterrupt:
            raise
        except BaseException as err:
            raise PluginLoadError(
                None, record.target, f"importing `{record.target}` failed: {describe_error(err)}",
                origin="(given as `module:attr`)",
            ) from err
        problem = config_class_problem(record.kind, obj)
        if problem is not None:
            raise ConfigError(
                f"`{key}`: `{record.target}` cannot be used as {_article(record.kind)} {record.kind}: {problem}. A `module:attr` import "
                f"path in a config may only name {KIND_RULES[record.kind][1]}, checked before anything is "
                f"called; functions and other callables are never called from config data. Name an installed "
                f"component (`runnerkit list`), or give the object itself in a `.py` config (see docs/security.md)."
            )
        return obj

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
        except KeyboardInterrupt:
            raise
        except BaseException as err:  # SystemExit at import too: the component fails alone
            raise PluginLoadError(
                record.distribution, where, f"importing `{record.target}` failed: {describe_error(err)}", origin=origin
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


def _entry_record(entry: EntryRecord) -> ComponentRecord:
    """The component record of a (non-plugin) entry point."""
    return ComponentRecord(
        kind=GROUP_TO_KIND[entry["group"]], name=entry["name"], target=entry["value"],
        distribution=entry["dist"], version=entry["version"], source="entry-point",
        provider=entry["dist"], incompatible=entry["incompatible"],
    )


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _mark_shadowed(records: Iterable[ComponentRecord]) -> None:
    """runnerkit's own names are reserved: a third-party component under one is reachable only by its qualified name."""
    recs = list(records)
    own = {(r.kind, r.name) for r in recs if normalize_dist(r.provider) == _SELF}
    for rec in recs:
        if (rec.kind, rec.name) in own and normalize_dist(rec.provider) != _SELF:
            rec.shadowed = (
                f"shadowed: runnerkit provides a {rec.kind} named `{rec.name}` and its names are reserved, so the "
                f"bare name builds runnerkit's; this one is reached only as `{rec.qualified_name}`. Rename it."
            )


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"Unknown component kind `{kind}`; expected one of {', '.join(KINDS)}.")


def _check_object(kind: str, obj: Any, dist: str | None, where: str, origin: str | None = None) -> None:
    problem = component_problem(kind, obj)
    if problem is not None:
        raise PluginLoadError(dist, where, problem, origin=origin)


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except Exception:  # find_spec imports parent packages; any failure means "not importable"
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
