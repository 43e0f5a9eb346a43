"""The one config checker: every problem of a config at once, each with its key and line.

``runnerkit validate`` prints its report, ``runnerkit run`` and :func:`runnerkit.job.build_job`
refuse a config that has problems. Every section is checked against the argument model of the
component it names (:func:`runnerkit.args_model`): runner, model, datasets, optimizer(s) and every
hook section. Only the sections a config has are checked, so a config with only a ``runner``
section (model and optimizer come from Python) is valid. Nothing is called: names are looked up
(a ``"module:attr"`` path is imported, and must name a class of the expected kind), arguments are
checked against signatures and annotations.

Example:
    >>> from runnerkit.check import check_config
    >>> [p.message for p in check_config({"lr_confg": {"policy": "step"}})]  # doctest: +ELLIPSIS
    ['unknown top-level key `lr_confg`. Did you mean `lr_config`? ...']
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from runnerkit._args import model_of, runtime_fields, validate_args
from runnerkit._container import Container
from runnerkit._errors import AmbiguousComponentError, ConfigError, PluginLoadError, UnknownComponentError
from runnerkit._locate import Loc, Locator, format_loc
from runnerkit._resolve import resolve
from runnerkit._suggest import closest, edit_distance, suggestion

__all__ = ["Problem", "check_config", "format_problems", "is_code", "run_work_dir"]

_LOOKUP_ERRORS = (UnknownComponentError, AmbiguousComponentError, PluginLoadError, ConfigError)


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with a config.

    Attributes:
        loc: the key path (``("custom_hooks", 0, "momentum")``).
        message: what is wrong and how to fix it.
        where: ``file:line`` of the key (or the file alone) when the config's files are known.
    """

    loc: tuple[str | int, ...]
    message: str
    where: str = ""
    #: the exception a failed lookup raised (unknown name, plugin that cannot load, refused import path)
    error: BaseException | None = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def key(self) -> str:
        """The key path as written in a config: ``custom_hooks[0].momentum``."""
        return format_loc(self.loc)

    def __str__(self) -> str:
        return f"{self.where + ': ' if self.where else ''}{self.key}: {self.message}"


def run_work_dir(cfg: Mapping[str, Any], config: str | Path, override: str | None = None) -> str:
    """The work dir ``runnerkit run CONFIG`` uses: ``override`` (``--work-dir``), else the config's
    ``work_dir``, else ``work_dirs/<config name>``."""
    given = cfg.get("work_dir")
    return override or (given if isinstance(given, str) and given else os.path.join("work_dirs", Path(config).stem))


def is_code(sources: Sequence[str | Path]) -> bool:
    """Whether a config read from ``sources`` is code: every file of it is a ``.py`` config.

    A mapping with no files (given by a Python caller) is data, as is a ``.py`` config that
    inherits from a data config (its values may come from the data file).
    """
    return bool(sources) and all(Path(s).suffix.lower() == ".py" for s in sources)


def check_config(cfg: Mapping[str, Any], *, sources: Sequence[str | Path] = (),
                 container: Container | None = None, trusted: bool | None = None,
                 work_dir: str | os.PathLike[str] | None = None) -> list[Problem]:
    """Every problem in ``cfg``, in file order when ``sources`` are given.

    Args:
        cfg: the config as a mapping (``read_config(path).data``).
        sources: the config file, then the ``_base_`` files it inherits from (for ``file:line``).
        container: where component names are looked up (default: the current container).
        trusted: whether the config is code (default: :func:`is_code` of ``sources``). A data
            config may only set the safe ``compile`` options (:mod:`runnerkit._compile_rules`),
            gives no run-time-only argument, and writes only inside the work dir (:mod:`runnerkit._confine`).
        work_dir: the run's work dir (default: the config's ``work_dir``), where a data config may write.
    """
    if work_dir is None and isinstance(cfg.get("work_dir"), str) and cfg["work_dir"]:
        work_dir = cfg["work_dir"]
    roots = [os.fspath(work_dir)] if work_dir is not None else []
    with _without_gc_pauses():
        return _check_config(cfg, sources, container, trusted, roots)


@contextlib.contextmanager
def _without_gc_pauses() -> Iterator[None]:
    """Checking thousands of problems allocates many small objects; with torch's large heap loaded each
    full collection that triggers costs tens of milliseconds, more than the check itself. The check
    makes no reference cycles worth collecting meanwhile."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _check_config(cfg: Mapping[str, Any], sources: Sequence[str | Path], container: Container | None,
                  trusted: bool | None, roots: list[str]) -> list[Problem]:
    from runnerkit._build import current_container
    from runnerkit.job_config import JobConfig

    checker = _Checker(container or current_container())
    checker.data = not (is_code(sources) if trusted is None else trusted)
    checker.roots = roots
    checker.top_level(cfg)
    checker.extend(model_problems(JobConfig, cfg, ()))
    checker.run(cfg)
    if checker.data:
        checker.data_rules(cfg)
    unique: dict[tuple[Loc, str], Problem] = {}
    for p in checker.problems:
        unique.setdefault((p.loc, p.message), p)
    problems = list(unique.values())
    if not sources:
        return problems
    paths = [Path(s) for s in sources]
    locator = Locator(paths)  # each file indexed once: linear in the number of problems
    located = [dataclasses.replace(p, where=locator.locate(p.loc)) for p in problems]
    order = {str(path): n for n, path in enumerate(paths)}

    def file_order(p: Problem) -> tuple[int, int]:
        path, _, line = p.where.rpartition(":")
        if not line.isdigit():
            return (order.get(p.where, len(order)), 0)
        return (order.get(path, len(order)), int(line))

    return sorted(located, key=file_order)


def format_problems(problems: Sequence[Problem]) -> str:
    """``file:line: key: message``, one problem a line."""
    return "\n".join(str(p) for p in problems)


def model_problems(model: type[BaseModel], data: Any, prefix: tuple[str | int, ...], owner: str | None = None,
                   supplied: Sequence[str] = ()) -> list[Problem]:
    """``data`` checked against ``model``, as problems under ``prefix``.

    Arguments in ``supplied`` (run-time objects code passes in) are not missing when absent.
    """
    try:
        validate_args(model, data if isinstance(data, Mapping) else {}, owner or model.__name__, supplied=supplied)
    except ValidationError as exc:
        return [Problem((*prefix, *_clean(tuple(err["loc"]))), _with_example(model, err)) for err in exc.errors()]
    return []


def _with_example(model: type[BaseModel], err: Any) -> str:
    """The error's message, and for a wrong value of an argument with a plain default, that default as an example."""
    message = str(err["msg"])
    loc = _clean(tuple(err["loc"]))
    field = model.model_fields.get(str(loc[0])) if len(loc) == 1 else None
    if field is None or err["type"] in ("unknown_argument", "extra_forbidden", "missing"):
        return message
    default = field.default
    if isinstance(default, bool | int | float | str) and not isinstance(default, type):
        return f"{message}; for example `{loc[0]}={default!r}` (the default)"
    return message


def _clean(loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    # A validator's location ends with the validator's name for Annotated types; drop it.
    return tuple(part for part in loc if not (isinstance(part, str) and part.startswith("function-")))


class _Checker:
    """Looks up every named component and checks the arguments each section gives it."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.problems: list[Problem] = []
        #: whether the config is data (JSON/YAML/TOML, or a mapping): the data rules apply
        self.data = True
        #: where a data config may write: the work dir
        self.roots: list[str] = []

    def add(self, loc: Loc, message: str, error: BaseException | None = None) -> None:
        prefix = f"`{format_loc(loc)}`: "
        self.problems.append(Problem(tuple(loc), message.removeprefix(prefix), error=error))

    def extend(self, problems: Sequence[Problem]) -> None:
        self.problems.extend(problems)

    def top_level(self, cfg: Mapping[str, Any]) -> None:
        """A key one or two edits from a known one is a typo (``lr_confg``); other unknown keys are helper variables."""
        from runnerkit.job_config import known_keys

        known = known_keys()
        for key in cfg:
            if not isinstance(key, str) or key.startswith("_") or key in known:
                continue
            near = [k for k in closest(key, known) if edit_distance(key, k) <= 2]
            if near:
                self.add((key,), f"unknown top-level key `{key}`. {suggestion(near)} (A helper variable must "
                                 f"not look like a section name; rename it, or start it with `_`.)")

    def run(self, cfg: Mapping[str, Any]) -> None:
        runner = cfg.get("runner")
        if isinstance(runner, Mapping):
            self.runner(runner)
        if isinstance(cfg.get("model"), Mapping):
            self.model_steps(self.component("model", cfg["model"], ("model",)), cfg)
        data = cfg.get("data")
        datasets: dict[str, Any] = {}
        if isinstance(data, Mapping):
            for mode in ("train", "val", "test"):
                if isinstance(data.get(mode), Mapping):
                    datasets[mode] = self.component("dataset", data[mode], ("data", mode))
        if isinstance(cfg.get("optimizer"), Mapping):
            self.optimizer(cfg["optimizer"])
        self.hook_section(cfg, "optimizer_config", "OptimizerHook")
        self.hook_section(cfg, "checkpoint_config", "CheckpointHook")
        self.hook_section(cfg, "timer_config", None)
        if isinstance(cfg.get("evaluation"), Mapping):
            val = datasets.get("val")  # a factory's dataset is not known before it runs: its keys stay open
            context = {"dataset": val} if isinstance(val, type) else None
            self.hook(cfg["evaluation"], ("evaluation",), "EvalHook", supplied=("dataloader", "by_epoch"), context=context)
            self.save_best_rule(cfg["evaluation"])
        for key, suffix in (("lr_config", "LrUpdaterHook"), ("momentum_config", "MomentumUpdaterHook")):
            if isinstance(cfg.get(key), Mapping):
                self.schedule(cfg[key], key, suffix)
        log_config = cfg.get("log_config")
        if isinstance(log_config, Mapping) and isinstance(log_config.get("hooks"), list):
            for i, hook in enumerate(log_config["hooks"]):
                if isinstance(hook, Mapping):
                    self.hook(hook, ("log_config", "hooks", i), supplied=("interval", "by_epoch"))
        custom = cfg.get("custom_hooks")
        if isinstance(custom, list):
            for i, hook in enumerate(custom):
                if isinstance(hook, Mapping):
                    self.hook(hook, ("custom_hooks", i))

    def data_rules(self, cfg: Mapping[str, Any]) -> None:
        """What only a ``.py`` config may do: ``torch.compile`` options off the safe list, a runner writing
        outside the work dir (``runner.work_dir`` would win over the one the command line chose)."""
        from runnerkit._compile_rules import data_compile_problems
        from runnerkit._confine import outside_problem

        runner = cfg.get("runner")
        for prefix, section in ((("compile",), cfg), (("runner", "compile"), runner)):
            if isinstance(section, Mapping) and "compile" in section:
                for where, message in data_compile_problems(section["compile"]):
                    self.add((*prefix, *where), message)
        if isinstance(runner, Mapping) and isinstance(runner.get("work_dir"), str):
            outside = outside_problem(runner["work_dir"], self.roots)
            if outside is not None:
                self.add(("runner", "work_dir"), outside)

    # -- components -------------------------------------------------------------------------

    def load(self, kind: str, spec: Any, loc: Loc) -> Any:
        from runnerkit import requires

        try:
            found = resolve(kind, spec, format_loc(loc), self.container)
        except _LOOKUP_ERRORS as err:
            self.add(loc, str(err), err)
            return None
        except TypeError as err:
            self.add(loc, f"{err} Name the {kind} with a string or give the class itself.", err)
            return None
        absent = requires.message(found)
        if absent is not None:
            self.add(loc, absent)
        return found

    def component(self, kind: str, cfg: Mapping[str, Any], loc: Loc, supplied: Sequence[str] = (),
                  context: Mapping[str, Any] | None = None, skip: Sequence[str] = ("type", "priority")) -> Any:
        """Look up ``cfg["type"]`` and check the other keys against its argument model; the component or None."""
        if "type" not in cfg:
            return None  # reported by the shape check
        found = self.load(kind, cfg["type"], (*loc, "type"))
        if found is not None:
            model = model_of(found, kind, context)
            args = {k: v for k, v in cfg.items() if k not in skip}
            name = str(cfg["type"]) if isinstance(cfg["type"], str) else getattr(found, "__name__", "component")
            runtime = runtime_fields(model)
            self.extend(model_problems(model, args, tuple(loc), name, supplied=(*supplied, *runtime)))
            if self.data:
                self.runtime_only(model, args, runtime, loc)
                if kind == "hook":
                    from runnerkit._confine import hook_path_problems

                    for where, message in hook_path_problems(found, args, self.roots):
                        self.add((*loc, *where), message)
        return found

    def runtime_only(self, model: type[BaseModel], args: Mapping[str, Any], runtime: set[str], loc: Loc) -> None:
        """A data config cannot give an argument that only exists at run time (``ConcatDataset(datasets=[])``)."""
        for key in sorted(k for k in runtime if args.get(k) is not None):
            prop = model.model_json_schema().get("properties", {}).get(key, {})
            what = f" (`{prop['x-python-type']}`)" if isinstance(prop, dict) and "x-python-type" in prop else ""
            self.add((*loc, key), f"`{key}` takes objects that exist only at run time{what}, which a data config "
                                  f"cannot give; build them in a `.py` config or in Python")

    def runner(self, cfg: Mapping[str, Any]) -> None:
        if "constructor" in cfg:
            self.load("constructor", cfg["constructor"], ("runner", "constructor"))
        self.component("runner", cfg, ("runner",), skip=("type", "constructor"))

    def optimizer(self, cfg: Mapping[str, Any]) -> None:
        if "type" in cfg:
            self.one_optimizer(cfg, ("optimizer",))
            return
        for name, sub in cfg.items():
            if isinstance(sub, Mapping) and "type" in sub:
                self.one_optimizer(sub, ("optimizer", name))

    def one_optimizer(self, cfg: Mapping[str, Any], loc: Loc) -> None:
        """The optimizer's arguments, and its constructor's (``paramwise_cfg`` checked key by key)."""
        self.component("optimizer", cfg, loc, skip=("type", "paramwise_cfg", "constructor"))
        if "constructor" not in cfg and "paramwise_cfg" not in cfg:
            return
        spec = cfg.get("constructor", "DefaultOptimizerConstructor")
        found = self.load("optimizer_constructor", spec, (*loc, "constructor"))
        if found is not None:
            model = model_of(found, "optimizer_constructor")
            args = {"paramwise_cfg": cfg.get("paramwise_cfg")}
            self.extend(model_problems(model, args, tuple(loc), str(spec), supplied=tuple(runtime_fields(model))))

    def model_steps(self, model: Any, cfg: Mapping[str, Any]) -> None:
        """A model class the runner could not train (no ``train_step``), or evaluate (no ``val_step``), as ``run`` refuses it."""
        import torch

        runner = cfg.get("runner")
        if not isinstance(model, type) or not issubclass(model, torch.nn.Module) or (
                isinstance(runner, Mapping) and runner.get("batch_processor") is not None):
            return  # a factory's model is known only once built; a batch processor steps any model
        needed = ["train_step"]
        evaluation = cfg.get("evaluation")
        workflow = cfg.get("workflow")
        val_phase = isinstance(workflow, list | tuple) and any(
            isinstance(phase, list | tuple) and phase and phase[0] == "val" for phase in workflow)
        if val_phase or (isinstance(evaluation, Mapping) and evaluation.get("test_fn") is None):
            needed.append("val_step")
        for step in needed:
            if not callable(getattr(model, step, None)):
                why = ("the runner trains with `model.train_step(data_batch, optimizer)`; define it (returning a dict "
                       "with `loss`, `log_vars`, `num_samples`)") if step == "train_step" else (
                       "evaluation runs `model.val_step(data_batch, None)`; define it (returning a dict with "
                       "`log_vars`) or give `evaluation` a `test_fn`")
                self.add(("model", "type"), f"the model {model.__name__} has no `{step}` method: {why}. A plain "
                                            f"`torch.nn` module needs a wrapper class that adds it.")

    def save_best_rule(self, cfg: Mapping[str, Any]) -> None:
        """``evaluation.save_best`` without ``rule`` must name a metric whose better direction its name tells."""
        save_best = cfg.get("save_best")
        if not isinstance(save_best, str) or save_best == "auto" or cfg.get("rule") is not None:
            return
        from runnerkit.hooks.evaluation import EvalHook

        try:
            EvalHook.infer_rule(save_best, cfg.get("greater_keys"), cfg.get("less_keys"))
        except (TypeError, ValueError) as err:
            self.add(("evaluation", "save_best"), str(err))

    # -- hooks ------------------------------------------------------------------------------

    def hook(self, cfg: Mapping[str, Any], loc: Loc, default_type: str | None = None, supplied: Sequence[str] = (),
             context: Mapping[str, Any] | None = None) -> None:
        if "priority" in cfg:
            from runnerkit.hooks.hook import get_priority

            try:
                get_priority(cfg["priority"])
            except (TypeError, ValueError) as err:
                self.add((*loc, "priority"), str(err))
        if "type" not in cfg and default_type is None:
            self.add(loc, "needs a `type` key naming a hook, e.g. `dict(type=\"CheckpointHook\", interval=1)`")
            return
        self.component("hook", {"type": default_type, **cfg}, loc, supplied, context)

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
            spelling = {k.lower(): (k.lower() if k.lower().title() == k else k) for k in known}  # mmcv title-cases
            hint = suggestion(spelling[k] for k in closest(policy.lower(), spelling, cutoff=0.5))
            self.add((key, "policy"), f"unknown policy `{policy}` (no hook `{hook_name}` is installed). "
                                      f"{hint + ' ' if hint else ''}Known policies: {', '.join(known) or 'none'}")
            return
        args = {k: v for k, v in cfg.items() if k != "policy"}
        self.component("hook", {"type": hook_name, **args}, (key,), ("by_epoch",))
