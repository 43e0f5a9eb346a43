"""``runnerkit.args_model(kind, name)``, ``runnerkit.args_schema(name)`` and the schema of a whole config.

They take a component of any kind: runner, constructor, hook, model, dataset, or optimizer (a
``torch.optim`` name, ``"module:attr"`` or a class). The model is the one :mod:`runnerkit._args`
gives (declared by a runner, derived from ``__init__`` otherwise), so building, ``validate``,
``show``, ``schema`` and the reference docs all use the same rules.

A component's JSON Schema describes its config *section*: its ``type`` (and ``constructor`` for a
runner, ``priority`` for a hook) and its arguments, with those that only exist at run time (model,
optimizer, logger, a hook's data loader) marked ``"x-runtime-only": true`` and never required.
:func:`config_schema` is the schema of a whole config file; each section refers to the schemas of
the components installed now (``runnerkit schema`` prints it, for editors: docs/schemas.md).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from runnerkit._args import model_of
from runnerkit._build import current_container
from runnerkit._container import Container
from runnerkit._resolve import resolve

__all__ = ["args_model", "args_schema", "component", "config_schema", "section_schema"]

_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_PRIORITY = {
    "description": "When the hook runs among the others: 0 (first) to 100, or a name such as `\"NORMAL\"`, `\"LOW\"`.",
    "anyOf": [{"type": "integer", "minimum": 0, "maximum": 100}, {"type": "string"}],
}


def component(kind: str, name: Any, container: Container | None = None) -> Any:
    """The component object ``name`` names among ``kind`` (``optimizer``: a ``torch.optim`` class)."""
    return resolve(kind, name, f"{kind}.type", container or current_container())


def args_model(kind: str, name: Any, *, container: Container | None = None) -> type[BaseModel]:
    """The pydantic model of the arguments of component ``name`` of ``kind``.

    Args:
        kind: ``"runner"``, ``"constructor"``, ``"hook"``, ``"model"``, ``"dataset"`` or ``"optimizer"``.
        name: a name (bare or ``"distribution:Name"``), ``"module:attr"`` or the class itself.
        container: the component container (default: the current one).

    Example:
        >>> model = runnerkit.args_model("hook", "CheckpointHook")
        >>> model.model_validate({"interval": "often"})  # doctest: +SKIP
        pydantic_core._pydantic_core.ValidationError: 1 validation error for CheckpointHookArgs ...
    """
    return model_of(component(kind, name, container), kind)


def args_schema(name: Any, kind: str | None = None) -> dict[str, Any]:
    """The JSON Schema of a config section naming component ``name``.

    The section's ``type`` and the component's arguments; objects that only exist at run time
    (model, optimizer, logger, ...) carry ``"x-runtime-only": true`` and are not required.

    Args:
        name: a component name (bare or ``"distribution:Name"``), ``"module:attr"`` or the class.
        kind: ``"runner"``, ``"constructor"``, ``"hook"``, ``"model"``, ``"dataset"`` or
            ``"optimizer"``. Default: a runner of that name, else the one kind that has it.

    Example:
        >>> schema = runnerkit.args_schema("IterBasedRunner")
        >>> sorted(schema["properties"])[:3]
        ['batch_processor', 'constructor', 'logger']
        >>> runnerkit.args_schema("CheckpointHook")["title"]
        'CheckpointHook (hook)'
    """
    kind = kind or _kind_of(name)
    schema = section_schema(kind, component(kind, name))
    return {"$schema": _DIALECT, **_tuples_allowed(schema)}


def _kind_of(name: Any) -> str:
    """The kind of component ``name`` is: a runner when one has that name, else the first kind that has it."""
    from runnerkit._errors import UnknownComponentError

    if isinstance(name, type):
        from runnerkit._kinds import KIND_RULES, _base

        for kind in ("runner", "hook", "model", "dataset", "optimizer"):
            base = _base(kind) if KIND_RULES[kind][0] else None
            if base is not None and issubclass(name, base):
                return kind
        return "constructor" if "__call__" in vars(name) else "runner"
    if not isinstance(name, str) or ":" in name.partition(":")[2] or "." in name.partition(":")[0]:
        return "runner"  # an import path: checked as a runner's
    container = current_container()
    for kind in ("runner", "hook", "model", "dataset", "constructor", "optimizer_constructor"):
        try:
            container.lookup(kind, name)
        except UnknownComponentError:
            continue
        return kind
    import torch

    value = getattr(torch.optim, name, None)
    if isinstance(value, type) and issubclass(value, torch.optim.Optimizer):
        return "optimizer"
    return "runner"  # unknown: the runner lookup names the closest runners


def section_schema(kind: str, obj: Any, name: str | None = None) -> dict[str, Any]:
    """The JSON Schema of a config section building ``obj``, a component of ``kind``."""
    label = name or getattr(obj, "__name__", str(obj))
    schema: dict[str, Any] = model_of(obj, kind).model_json_schema()
    props: dict[str, Any] = schema.get("properties", {})
    runtime = {n for n, p in props.items() if isinstance(p, dict) and p.get("x-runtime-only")}
    required = [r for r in schema.get("required", []) if r not in runtime]
    head: dict[str, Any] = {"type": {"type": "string", "description": f"The {kind} to build: an installed name, "
                                     f"`\"distribution:Name\"` or `\"module:attr\"`."}}
    if kind == "runner":
        head["constructor"] = {"type": "string", "description": "The constructor that builds the runner (default "
                               "`DefaultRunnerConstructor`)."}
    if kind == "hook":
        head["priority"] = _PRIORITY
    if kind == "optimizer":
        head["constructor"] = {"type": "string", "description": "The optimizer constructor (kind `optimizer_constructor`) "
                               "that builds the parameter groups (default `DefaultOptimizerConstructor`)."}
        head["paramwise_cfg"] = {"type": ["object", "null"], "description": "Per-parameter rules for the constructor "
                                 "(mmcv's `paramwise_cfg`); `runnerkit show DefaultOptimizerConstructor` lists its keys."}
    schema["properties"] = {**head, **props}
    if required:
        schema["required"] = required
    else:
        schema.pop("required", None)
    schema["title"] = f"{label} ({kind})"
    return schema


def config_schema(container: Container | None = None) -> dict[str, Any]:
    """The JSON Schema of a whole config file, its sections referring to the installed components' schemas.

    A section whose ``type`` names an installed component is checked against that component's
    schema; a qualified name or an import path is accepted as it is (``runnerkit validate`` checks it).

    Example:
        >>> schema = config_schema()
        >>> schema["properties"]["runner"]["allOf"][0]["then"]["$ref"]  # doctest: +ELLIPSIS
        '#/$defs/runner.EpochBasedRunner'
    """
    from runnerkit._errors import RunnerkitError
    from runnerkit.job_config import JobConfig

    container = container or current_container()
    schema: dict[str, Any] = JobConfig.model_json_schema()
    defs: dict[str, Any] = schema.setdefault("$defs", {})
    names: dict[str, list[str]] = {}
    for kind in ("runner", "model", "dataset", "hook"):
        names[kind] = []
        for record in container.records(kind):
            if record.shadowed or record.incompatible:
                continue
            try:
                obj = container.load(record)
                defs[f"{kind}.{record.name}"] = _hoist(section_schema(kind, obj, record.name), f"{kind}.{record.name}", defs)
            except (RunnerkitError, TypeError, ValueError, ImportError):  # a broken plugin: its sections stay unchecked
                continue
            names[kind].append(record.name)
    names["optimizer"] = _optimizers(defs)
    props = schema["properties"]
    for key, kind in (("runner", "runner"), ("model", "model")):
        props[key] = _section(props[key], kind, names[kind])
    data = defs["DataConfig"]["properties"]
    for mode in ("train", "val", "test"):
        data[mode] = _section(data[mode], "dataset", names["dataset"])
    single = _by_type("optimizer", names["optimizer"])
    props["optimizer"] = _keep(props["optimizer"], {"anyOf": [
        {"type": "null"}, {**single, "required": ["type"]},
        {"type": "object", "not": {"required": ["type"]}, "additionalProperties": {**single, "required": ["type"]}},
    ]})
    for key, default in (("optimizer_config", "OptimizerHook"), ("checkpoint_config", "CheckpointHook"),
                         ("evaluation", "EvalHook"), ("timer_config", None)):
        props[key] = _section(props[key], "hook", names["hook"], default)
    for key, suffix in (("lr_config", "LrUpdaterHook"), ("momentum_config", "MomentumUpdaterHook")):
        props[key] = _schedule(props[key], suffix, names["hook"], defs)
    props["custom_hooks"] = _keep(props["custom_hooks"], {"type": "array", "items": _by_type("hook", names["hook"])})
    logs = defs["LogConfig"]["properties"]
    logs["hooks"] = _keep(logs["hooks"], {"type": "array", "items": _by_type("hook", names["hook"])})
    schema["title"] = "runnerkit config"
    schema["description"] = ("A runnerkit (mmcv 1.x-shaped) config file. Keys not listed are allowed (helper variables "
                             "such as `data_root`); `runnerkit validate` also reports misspelt section names.")
    return {"$schema": _DIALECT, **_tuples_allowed(schema)}


# -- building blocks ---------------------------------------------------------------------------------


#: a Python tuple (a `.py` config's `workflow = [("train", 1)]`) is no JSON type, so `"type": "array"` refuses it
_NOT_JSON = {"not": {"type": ["string", "number", "boolean", "null", "object", "array"]}}


def _tuples_allowed(node: Any) -> Any:
    """``node`` with every array also accepting a Python tuple, so a ``.py`` config's dict validates as it is."""
    if isinstance(node, list):
        return [_tuples_allowed(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _tuples_allowed(v) for k, v in node.items()}
    if out.get("type") == "array":
        keep = {k: out.pop(k) for k in ("title", "description", "default") if k in out}
        return {**keep, "anyOf": [out, _NOT_JSON]}
    return out


def _keep(original: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``new`` with ``original``'s title, description and default."""
    return {**{k: original[k] for k in ("title", "description", "default") if k in original}, **new}


def _by_type(kind: str, names: list[str], default: str | None = None) -> dict[str, Any]:
    """An object whose ``type`` picks the schema it must meet (``default`` when it has no ``type``)."""
    rules: list[dict[str, Any]] = [
        {"if": {"properties": {"type": {"const": name}}, "required": ["type"]}, "then": {"$ref": f"#/$defs/{kind}.{name}"}}
        for name in names
    ]
    if default is not None and default in names:
        rules.append({"if": {"not": {"required": ["type"]}}, "then": {"$ref": f"#/$defs/{kind}.{default}"}})
    block: dict[str, Any] = {"type": "object", "properties": {"type": {"type": "string"}}}
    if default is None or default not in names:
        block["required"] = ["type"]
    if rules:
        block["allOf"] = rules
    return block


def _section(original: dict[str, Any], kind: str, names: list[str], default: str | None = None) -> dict[str, Any]:
    return _keep(original, {"anyOf": [{"type": "null"}, _by_type(kind, names, default)]})


def _schedule(original: dict[str, Any], suffix: str, hooks: list[str], defs: dict[str, Any]) -> dict[str, Any]:
    """``lr_config``/``momentum_config``: ``policy`` names the hook (``step`` -> ``StepLrUpdaterHook``), or ``type`` does."""
    rules: list[dict[str, Any]] = []
    policies: list[str] = []
    for name in hooks:
        if not name.endswith(suffix) or name == suffix:
            continue
        policy = name[: -len(suffix)]
        spellings = [policy] + ([policy.lower()] if policy.lower().title() == policy else [])
        policies += spellings
        hook = defs[f"hook.{name}"]
        key = f"policy.{name}"
        defs[key] = {**hook, "properties": {"policy": {"enum": spellings}, **hook["properties"]}}
        rules.append({"if": {"properties": {"policy": {"enum": spellings}}, "required": ["policy"]},
                      "then": {"$ref": f"#/$defs/{key}"}})
    by_type = _by_type("hook", hooks)
    with_policy = {"type": "object", "required": ["policy"], "not": {"required": ["type"]},
                   "properties": {"policy": {"type": "string", "description": f"One of: {', '.join(policies)}."}},
                   "allOf": rules}
    return _keep(original, {"anyOf": [{"type": "null"}, with_policy, by_type]})


def _optimizers(defs: dict[str, Any]) -> list[str]:
    import torch

    names = []
    for name, cls in sorted(vars(torch.optim).items()):
        if isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer) and cls is not torch.optim.Optimizer:
            defs[f"optimizer.{name}"] = section_schema("optimizer", cls, name)
            names.append(name)
    return names


def _hoist(schema: dict[str, Any], prefix: str, defs: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its own ``$defs`` moved into ``defs`` under ``prefix``, references rewritten."""
    own = schema.pop("$defs", {})
    if not own:
        return schema

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: (f"#/$defs/{prefix}.{v.rsplit('/', 1)[-1]}" if k == "$ref" and isinstance(v, str) else rewrite(v))
                    for k, v in node.items()}
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        return node

    for name, sub in own.items():
        defs[f"{prefix}.{name}"] = rewrite(sub)
    return dict(rewrite(schema))
