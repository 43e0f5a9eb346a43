"""Component records: what runnerkit knows about a component before importing it."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

Source = Literal["entry-point", "plugin", "import"]


@dataclasses.dataclass(frozen=True)
class Kind:
    """One kind of component: its name, entry-point group and pluggy hook."""

    name: str
    group: str
    hook: str
    #: dotted path of the base class a component must subclass (None: any callable).
    base: str | None


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("runner", "runnerkit.runners", "runnerkit_runners", "runnerkit.runners.base:BaseRunner"),
        Kind("constructor", "runnerkit.constructors", "runnerkit_constructors", None),
        Kind("hook", "runnerkit.hooks", "runnerkit_hooks", "runnerkit.hooks.hook:Hook"),
        Kind("model", "runnerkit.models", "runnerkit_models", None),
        Kind("dataset", "runnerkit.datasets", "runnerkit_datasets", None),
        Kind("optimizer_constructor", "runnerkit.optimizer_constructors", "runnerkit_optimizer_constructors", None),
    )
}
#: The kinds ``runnerkit list`` shows unless asked for others (CONTRACT.md section 8).
CORE_KINDS = ("runner", "constructor", "hook", "optimizer_constructor")
GROUP_TO_KIND = {k.group: k.name for k in KINDS.values()}
PLUGIN_GROUP = "runnerkit.plugins"


def normalize_dist(name: str) -> str:
    """PEP 503 normalisation, so that ``Acme_Runners`` and ``acme-runners`` match.

    Same as ``re.sub(r"[-_.]+", "-", name).lower()``, without compiling a regex on the path of
    every lookup.
    """
    norm = name.lower().replace("_", "-").replace(".", "-")
    while "--" in norm:
        norm = norm.replace("--", "-")
    return norm


@dataclasses.dataclass
class ComponentRecord:
    """Everything known about one component from metadata alone.

    Attributes:
        kind: ``runner``, ``constructor``, ``hook``, ``model``, ``dataset`` or ``optimizer_constructor``.
        name: the name configs use in ``type``.
        target: ``module:attr`` that is imported when the component is first built.
        distribution: the providing distribution (None for run-time plugins).
        version: that distribution's version (None for run-time plugins).
        source: ``entry-point`` or ``plugin``.
        provider: who provides it, for messages: the distribution or the plugin's name.
        incompatible: why the providing distribution cannot be used with this runnerkit, or None.
        shadowed: set when runnerkit itself provides a component of this kind and name: the bare
            name builds runnerkit's, this one is reached only by its qualified name (the text says so).
    """

    kind: str
    name: str
    target: str
    distribution: str | None
    version: str | None
    source: Source
    provider: str
    incompatible: str | None = None
    shadowed: str | None = None
    obj: Any = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def qualified_name(self) -> str:
        """``<distribution>:<name>`` (or ``<plugin>:<name>`` for run-time plugins)."""
        return f"{self.provider}:{self.name}"

    def to_json(self) -> dict[str, Any]:
        """The record as ``runnerkit list --json`` prints it."""
        return {
            "kind": self.kind,
            "name": self.name,
            "target": self.target,
            "distribution": self.distribution,
            "version": self.version,
            "source": self.source,
            "compatible": self.incompatible is None,
            "problem": self.incompatible or self.shadowed,
        }


def target_of(obj: Any) -> str:
    """``module:qualname`` of an object (for components a plugin returns as objects)."""
    module = getattr(obj, "__module__", None) or type(obj).__module__
    qualname = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    return f"{module}:{qualname}"
