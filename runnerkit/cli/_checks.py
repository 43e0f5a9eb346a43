"""Checking a config without training: every problem at once, each with its key path.

Used by ``runnerkit validate`` and, before it builds anything, by ``runnerkit run``. Only the
sections a config has are checked, so a config with only a ``runner`` section (model and
optimizer come from Python) is valid.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from runnerkit import requires
from runnerkit._container import Container
from runnerkit._errors import AmbiguousComponentError, ConfigError, PluginLoadError, UnknownComponentError

Loc = tuple[str | int, ...]
_LOOKUP_ERRORS = (UnknownComponentError, AmbiguousComponentError, PluginLoadError, ConfigError)


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with a config: where (a key path) and what, in words."""

    loc: Loc
    message: str


def check_config(cfg: Mapping[str, Any], container: Container) -> list[Problem]:
    """Every problem in ``cfg``: section shapes, component names, arguments, runner arguments."""
    from runnerkit.job import JobConfig

    problems = pydantic_problems(JobConfig, cfg, ())
    checker = _Checker(container, problems)
    checker.run(cfg)
    # One problem per place and message, in file order of discovery.
    unique: dict[tuple[Loc, str], Problem] = {}
    for p in problems:
        unique.setdefault((p.loc, p.message), p)
    return list(unique.values())


def pydantic_problems(model: type[BaseModel], data: Any, prefix: Loc, skip: Collection[str] = ()) -> list[Problem]:
    """``model.model_validate(data)``'s errors as problems under ``prefix``.

    Errors about the top-level fields in ``skip`` that ``data`` does not give are left out
    (run-time-only runner arguments that come from code).
    """
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return [p for err in exc.errors() if (p := _from_error(model, err, prefix, data, skip)) is not None]
    return []


def _from_error(model: type[BaseModel], err: Any, prefix: Loc, data: Any, skip: Collection[str]) -> Problem | None:
    loc = tuple(err["loc"])
    given = data if isinstance(data, Mapping) else {}
    if loc and loc[0] in skip and loc[0] not in given:
        return None
    # A field validator's loc ends with the validator's function name for Annotated types; drop it.
    loc = tuple(part for part in loc if not (isinstance(part, str) and part.startswith("function-")))
    kind = err["type"]
    if kind == "extra_forbidden":
        owner = _owner(model, loc[:-1])
        accepted = list(owner.model_fields) if owner is not None else []
        close = difflib.get_close_matches(str(loc[-1]), accepted, n=3, cutoff=0.5)
        hint = f"did you mean {' or '.join(f'`{c}`' for c in close)}? " if close else ""
        message = f"unknown key `{loc[-1]}`; {hint}accepted keys: {', '.join(accepted)}"
    elif kind == "missing":
        message = "required, but missing"
    else:
        message = err["msg"]
        value = err.get("input")
        if kind != "unknown_argument" and "got " not in message and value is not None and not isinstance(value, (Mapping, BaseModel)):
            message += f" (got `{value!r:.60}`)"
        message = message.removeprefix("Value error, ")
    return Problem(prefix + loc, message)


def _owner(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The pydantic model that holds the value at ``loc`` inside ``model`` (for unknown-key hints)."""
    current: Any = model
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or part not in current.model_fields:
            return None
        annotation = current.model_fields[part].annotation
        inner = [a for a in getattr(annotation, "__args__", (annotation,)) if isinstance(a, type) and issubclass(a, BaseModel)]
        current = inner[0] if inner else None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


class _Checker:
    """Looks up every named component and checks the arguments each section gives it."""

    def __init__(self, container: Container, problems: list[Problem]) -> None:
        self.container = container
        self.problems = problems

    def add(self, loc: Loc, message: str) -> None:
        self.problems.append(Problem(loc, message))

    def run(self, cfg: Mapping[str, Any]) -> None:
        runner = cfg.get("runner")
        if isinstance(runner, Mapping):
            self.runner(runner)
        if isinstance(cfg.get("model"), Mapping):
            self.component("model", cfg["model"], ("model",))
        data = cfg.get("data")
        if isinstance(data, Mapping):
            for mode in ("train", "val", "test"):
                if isinstance(data.get(mode), Mapping):
                    self.component("dataset", data[mode], ("data", mode))
        if isinstance(cfg.get("optimizer"), Mapping):
            self.optimizer(cfg["optimizer"])
        self.hook_section(cfg, "optimizer_config", "OptimizerHook")
        self.hook_section(cfg, "checkpoint_config", "CheckpointHook")
        self.hook_section(cfg, "timer_config", None)
        if isinstance(cfg.get("evaluation"), Mapping):
            self.hook(cfg["evaluation"], ("evaluation",), "EvalHook", injected=("dataloader",))
        for key, suffix in (("lr_config", "LrUpdaterHook"), ("momentum_config", "MomentumUpdaterHook")):
            if isinstance(cfg.get(key), Mapping):
                self.schedule(cfg[key], key, suffix)
        log_config = cfg.get("log_config")
        if isinstance(log_config, Mapping) and isinstance(log_config.get("hooks"), list):
            for i, hook in enumerate(log_config["hooks"]):
                if isinstance(hook, Mapping):
                    self.hook(hook, ("log_config", "hooks", i), injected=("interval", "by_epoch"))
        custom = cfg.get("custom_hooks")
        if isinstance(custom, list):
            for i, hook in enumerate(custom):
                if isinstance(hook, Mapping):
                    self.hook(hook, ("custom_hooks", i))

    # -- components -------------------------------------------------------------------------

    def load(self, kind: str, spec: Any, loc: Loc) -> Any:
        try:
            return self.container.get(kind, spec, key=".".join(map(str, loc)))
        except _LOOKUP_ERRORS as err:
            self.add(loc, str(err))
        except TypeError as err:
            self.add(loc, f"{err} Name the {kind} with a string or give the class itself.")
        return None

    def component(self, kind: str, cfg: Mapping[str, Any], loc: Loc, injected: Sequence[str] = ()) -> None:
        if "type" not in cfg:
            return  # reported by the shape check
        factory = self.load(kind, cfg["type"], (*loc, "type"))
        absent = requires.message(factory) if factory is not None else None
        if absent is not None:
            self.add((*loc, "type"), absent)
        if factory is not None:
            args = {k: v for k, v in cfg.items() if k not in ("type", "priority")}
            self.arguments(factory, args, loc, str(cfg["type"]), injected)

    def arguments(self, factory: Any, args: Mapping[str, Any], loc: Loc, name: str, injected: Sequence[str] = ()) -> None:
        """Unknown and missing arguments of ``factory`` (from its signature; ``**kwargs`` takes anything)."""
        try:
            params = inspect.signature(factory).parameters
        except (TypeError, ValueError):
            return
        named = {n: p for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
        if not takes_any:
            for key in args:
                if key not in named:
                    close = difflib.get_close_matches(str(key), list(named), n=3, cutoff=0.5)
                    hint = f"did you mean {' or '.join(f'`{c}`' for c in close)}? " if close else ""
                    self.add((*loc, key), f"`{name}` takes no argument `{key}`; {hint}it takes: {', '.join(named) or 'none'}")
        for pname, param in named.items():
            if param.default is param.empty and pname not in args and pname not in injected:
                self.add(loc, f"`{name}` needs the argument `{pname}`; add `{pname}=...` (`runnerkit show {name}` describes it)")

    def runner(self, cfg: Mapping[str, Any]) -> None:
        if "constructor" in cfg:
            self.load("constructor", cfg["constructor"], ("runner", "constructor"))
        if "type" not in cfg:
            return
        runner_cls = self.load("runner", cfg["type"], ("runner", "type"))
        if runner_cls is None:
            return
        schema = runner_cls.args_model.model_json_schema()
        runtime = {n for n, p in schema.get("properties", {}).items() if p.get("x-runtime-only")}
        args = {k: v for k, v in cfg.items() if k not in ("type", "constructor")}
        self.problems.extend(pydantic_problems(runner_cls.args_model, args, ("runner",), skip=runtime))

    def optimizer(self, cfg: Mapping[str, Any]) -> None:
        if "type" in cfg:
            self.one_optimizer(cfg, ("optimizer",))
            return
        for name, sub in cfg.items():
            if isinstance(sub, Mapping) and "type" in sub:
                self.one_optimizer(sub, ("optimizer", name))

    def one_optimizer(self, cfg: Mapping[str, Any], loc: Loc) -> None:
        from runnerkit.job import optimizer_class

        for key in ("paramwise_cfg", "constructor"):
            if key in cfg:
                self.add((*loc, key), "mmcv's optimizer constructors are not supported in configs; build the "
                                      "optimizer in Python and pass it to `runnerkit.build(..., default_args=...)`")
        try:
            cls = optimizer_class(cfg["type"], ".".join(map(str, loc)))
        except ConfigError as err:
            self.add((*loc, "type"), str(err).split(": ", 1)[-1])
            return
        args = {k: v for k, v in cfg.items() if k not in ("type", "paramwise_cfg", "constructor")}
        self.arguments(cls, args, loc, cls.__name__, injected=("params",))

    # -- hooks ------------------------------------------------------------------------------

    def hook(self, cfg: Mapping[str, Any], loc: Loc, default_type: str | None = None, injected: Sequence[str] = ()) -> None:
        if "priority" in cfg:
            from runnerkit.hooks.hook import get_priority

            try:
                get_priority(cfg["priority"])
            except (TypeError, ValueError) as err:
                self.add((*loc, "priority"), str(err))
        if "type" not in cfg and default_type is None:
            self.add(loc, "needs a `type` key naming a hook, e.g. `dict(type=\"CheckpointHook\", interval=1)`")
            return
        self.component("hook", {"type": default_type, **cfg}, loc, (*injected, "by_epoch"))

    def hook_section(self, cfg: Mapping[str, Any], key: str, default_type: str | None) -> None:
        section = cfg.get(key)
        if isinstance(section, Mapping):
            self.hook(section, (key,), default_type)

    def schedule(self, cfg: Mapping[str, Any], key: str, suffix: str) -> None:
        """``lr_config``/``momentum_config``: ``policy="step"`` names ``StepLrUpdaterHook`` (mmcv's rule)."""
        if "type" in cfg:
            self.hook(cfg, (key,))
            return
        policy = cfg.get("policy")
        if not isinstance(policy, str):
            self.add((key,), "needs `policy` (e.g. `policy=\"step\"`) naming the schedule, or `type` naming a hook")
            return
        hook_name = (policy.title() if policy == policy.lower() else policy) + suffix
        try:
            self.container.lookup("hook", hook_name)
        except UnknownComponentError:
            known = sorted(r.name[: -len(suffix)] for r in self.container.records("hook") if r.name.endswith(suffix))
            self.add((key, "policy"), f"unknown policy `{policy}` (no hook `{hook_name}` is installed); known policies: "
                                      f"{', '.join(known) or 'none'}")
            return
        args = {k: v for k, v in cfg.items() if k != "policy"}
        self.component("hook", {"type": hook_name, **args}, (key,), ("by_epoch",))
