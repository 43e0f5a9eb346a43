"""A whole training job from one config: model, data, optimizers, runner, hooks, workflow.

This is what ``runnerkit run CONFIG`` and ``runnerkit demo`` do, for use from Python too.
The config has mmcv 1.x's shape; :class:`JobConfig` documents (and validates) every section.
Components are named by ``type`` and found through the container: models and datasets in the
``runnerkit.models`` / ``runnerkit.datasets`` entry-point groups (or a ``"module:attr"`` path),
optimizers in ``torch.optim`` (the model's parameters are passed in), runners and hooks as
:func:`runnerkit.build` finds them.

Example:
    >>> from runnerkit.job import build_job
    >>> job = build_job(dict(
    ...     model=dict(type="DemoModel"),
    ...     data=dict(train=dict(type="DemoDataset"), samples_per_gpu=32),
    ...     optimizer=dict(type="SGD", lr=0.1), optimizer_config=dict(),
    ...     runner=dict(type="IterBasedRunner", max_iters=20),
    ... ), work_dir="work_dirs/example")                                    # doctest: +SKIP
    >>> job.run()                                                           # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt

from runnerkit._build import build, copy_plain, current_container
from runnerkit._container import Container, resolve
from runnerkit._errors import ConfigError, RunnerkitError
from runnerkit.seed import seed_everything


def _has_type(value: dict[str, Any]) -> dict[str, Any]:
    if "type" not in value:
        keys = ", ".join(f"`{k}`" for k in value) or "no keys"
        raise ValueError(f"needs a `type` key naming the component (it has {keys}), e.g. `dict(type=\"Name\", ...)`")
    return value


#: ``dict(type=<name, "module:attr" or class>, **arguments)``
ComponentConfig = Annotated[dict[str, Any], AfterValidator(_has_type)]


def _optimizer_shape(value: dict[str, Any]) -> dict[str, Any]:
    if "type" in value:
        return value
    if value and all(isinstance(v, Mapping) and "type" in v for v in value.values()):
        return value
    raise ValueError(
        "needs a `type` key naming a `torch.optim` class (`dict(type=\"SGD\", lr=0.01)`), or one such dict per "
        "model submodule for a multi-optimizer model (`dict(generator=dict(type=\"Adam\", lr=1e-4), ...)`)"
    )


class DataConfig(BaseModel):
    """The ``data`` section: datasets and how to load them (mmcv's ``data=dict(...)``)."""

    model_config = ConfigDict(extra="forbid")

    train: ComponentConfig | None = Field(
        default=None, description="The training dataset, `dict(type=..., **args)`; needed by a `train` workflow phase."
    )
    val: ComponentConfig | None = Field(
        default=None, description="The validation dataset; needed by a `val` workflow phase."
    )
    test: ComponentConfig | None = Field(default=None, description="The test dataset (kept for mmcv configs; unused by `run`).")
    samples_per_gpu: PositiveInt | None = Field(
        default=None, description="Batch size per process (mmcv's name; `batch_size` is accepted too). Default 1."
    )
    batch_size: PositiveInt | None = Field(default=None, description="Alias of `samples_per_gpu`; give only one of the two.")
    workers_per_gpu: NonNegativeInt = Field(
        default=0, description="DataLoader worker processes per process; 0 loads in the main process."
    )
    shuffle: bool = Field(default=True, description="Shuffle the training set each epoch (validation is never shuffled).")
    drop_last: bool = Field(default=False, description="Drop the last incomplete training batch of each epoch.")
    pin_memory: bool = Field(default=False, description="Use pinned host memory (faster copies to a GPU).")
    persistent_workers: bool = Field(default=False, description="Keep workers alive between epochs (needs workers_per_gpu > 0).")

    @property
    def per_batch(self) -> int:
        """The batch size (``samples_per_gpu`` or ``batch_size``, default 1)."""
        return self.samples_per_gpu or self.batch_size or 1


class LogConfig(BaseModel):
    """The ``log_config`` section: the logger hooks and how often they log."""

    model_config = ConfigDict(extra="forbid")

    interval: PositiveInt = Field(default=10, description="Log every this many iterations (passed to each logger hook).")
    hooks: list[ComponentConfig] = Field(
        default_factory=lambda: [{"type": "TextLoggerHook"}],
        description="Logger hooks, e.g. `[dict(type=\"TextLoggerHook\"), dict(type=\"TensorboardLoggerHook\")]`.",
    )


class JobConfig(BaseModel):
    """A whole job. Keys runnerkit does not use (``dist_params``, ``log_level``, ...) are kept and ignored."""

    model_config = ConfigDict(extra="allow")

    model: ComponentConfig | None = Field(
        default=None,
        description="The model, `dict(type=..., **args)`: a `runnerkit.models` entry point name, `\"module:attr\"` "
        "or a class. It must define `train_step` (and `val_step` for `val` phases).",
    )
    data: DataConfig | None = Field(default=None, description="Datasets and data loading (see `DataConfig`).")
    optimizer: Annotated[dict[str, Any], AfterValidator(_optimizer_shape)] | None = Field(
        default=None,
        description="`dict(type=\"SGD\", lr=0.01, ...)` naming a `torch.optim` class (or `\"module:attr\"`); the "
        "model's parameters are passed in. For several optimizers, one such dict per model submodule name.",
    )
    optimizer_config: dict[str, Any] | None = Field(
        default=None,
        description="The optimizer hook, e.g. `dict(grad_clip=dict(max_norm=35))` (`type` defaults to "
        "`OptimizerHook`). Without it nothing calls `optimizer.step()` unless the model's `train_step` does.",
    )
    lr_config: dict[str, Any] | None = Field(
        default=None, description="The lr schedule, mmcv style: `dict(policy=\"step\", step=[8, 11], warmup=\"linear\")`."
    )
    momentum_config: dict[str, Any] | None = Field(
        default=None, description="The momentum schedule, mmcv style: `dict(policy=\"cyclic\", ...)`."
    )
    checkpoint_config: dict[str, Any] | None = Field(
        default=None, description="The checkpoint hook, e.g. `dict(interval=1000, max_keep_ckpts=3)`."
    )
    log_config: LogConfig | None = Field(default=None, description="Logger hooks (see `LogConfig`).")
    timer_config: dict[str, Any] | None = Field(
        default_factory=lambda: {"type": "IterTimerHook"}, description="The iteration timer hook (None: no timer)."
    )
    evaluation: dict[str, Any] | None = Field(
        default=None,
        description="Evaluate on `data.val` during training (mmdet/mmseg style): `dict(interval=1000, save_best=\"acc\")` "
        "builds an `EvalHook` (`type` to use another) over a loader of `data.val`; `by_epoch` follows the runner.",
    )
    custom_hooks: list[ComponentConfig] = Field(
        default_factory=list, description="More hooks: `[dict(type=\"EMAHook\", priority=\"NORMAL\", ...)]`."
    )
    runner: ComponentConfig | None = Field(
        default=None,
        description="The runner: `dict(type=\"IterBasedRunner\", max_iters=...)` or `EpochBasedRunner` with "
        "`max_epochs`; its arguments are checked against the runner's argument model.",
    )
    total_epochs: PositiveInt | None = Field(
        default=None, description="Legacy mmcv key: with no `runner` section, means `EpochBasedRunner(max_epochs=...)`."
    )
    workflow: list[tuple[Literal["train", "val"], PositiveInt]] = Field(
        default_factory=lambda: [("train", 1)], min_length=1,  # type: ignore[arg-type]
        description="Phases in turn, e.g. `[(\"train\", 1), (\"val\", 1)]` (epochs for EpochBasedRunner, "
        "iterations for IterBasedRunner).",
    )
    work_dir: str | None = Field(
        default=None, description="Where checkpoints and logs go; `runnerkit run` defaults to `./work_dirs/<config name>`."
    )
    load_from: str | None = Field(default=None, description="Checkpoint whose weights initialise the model.")
    resume_from: str | None = Field(
        default=None, description="Checkpoint to resume training from exactly (`\"auto\"`: as `resume=\"auto\"`)."
    )
    resume: bool | str | None = Field(
        default=None, description="Resume: a checkpoint path, `True` (the work dir's latest checkpoint, which must exist) "
        "or `\"auto\"` (the latest when there is one, else start fresh). Overrides `resume_from`.",
    )
    overwrite: bool = Field(
        default=False, description="Start a fresh run even in a work dir that holds another run's checkpoints, "
        "deleting them first (without it, such a run is refused).",
    )
    seed: int | None = Field(
        default=None, description="Seed for Python, NumPy and torch before anything is built (deterministic runs)."
    )
    deterministic: bool = Field(
        default=False, description="With `seed`: make torch use deterministic algorithms (`runnerkit.seed_everything`)."
    )
    num_threads: PositiveInt | None = Field(
        default=None, description="`torch.set_num_threads` for the run; 1 is fastest for small models on a busy CPU "
        "(None: torch's default, one thread per core).",
    )
    device: str | None = Field(
        default=None, description="Move the model there before building the optimizer (`\"cuda\"`, `\"cpu\"`); "
        "the model's `train_step` moves each batch.",
    )
    check_finite: bool = Field(
        default=True, description="Stop with `NonFiniteLossError` at the first log interval or checkpoint after a "
        "logged loss became NaN/inf, and never write a checkpoint with non-finite weights; `false` turns the guard "
        "off (`runner.check_finite`).",
    )

    def runner_config(self) -> dict[str, Any] | None:
        """The ``runner`` section, or the one the legacy ``total_epochs`` key implies."""
        if self.runner is not None:
            return self.runner
        if self.total_epochs is not None:
            return {"type": "EpochBasedRunner", "max_epochs": self.total_epochs}
        return None

    def missing_for_run(self) -> list[tuple[tuple[str | int, ...], str]]:
        """What ``runnerkit run`` still needs, as ``(location, message)`` pairs (empty: nothing)."""
        missing: list[tuple[tuple[str | int, ...], str]] = []
        if self.model is None:
            missing.append((("model",), "`run` needs a `model` section, e.g. `model=dict(type=\"DemoModel\")`"))
        if self.runner_config() is None:
            missing.append((("runner",), "`run` needs a `runner` section, e.g. `runner=dict(type=\"IterBasedRunner\", max_iters=1000)`"))
        for index, (mode, _) in enumerate(self.workflow):
            if self.data is None or getattr(self.data, mode) is None:
                missing.append((
                    ("data", mode),
                    f"workflow phase {index} is `{mode}`, so `run` needs `data.{mode}=dict(type=...)` naming a dataset",
                ))
        if self.evaluation is not None and (self.data is None or self.data.val is None):
            missing.append((("data", "val"), "`evaluation` is set, so `run` needs `data.val=dict(type=...)` to evaluate on"))
        if self.optimizer_config is not None and self.optimizer is None:
            missing.append((("optimizer",), "`optimizer_config` is set but there is no `optimizer` to step; add "
                            "`optimizer=dict(type=\"SGD\", lr=0.01)` or drop `optimizer_config`"))
        if self.data is not None and self.data.samples_per_gpu and self.data.batch_size:
            missing.append((("data", "batch_size"), "give `samples_per_gpu` or `batch_size`, not both"))
        return missing


@dataclasses.dataclass
class Job:
    """A built job: call :meth:`run` to train.

    Attributes:
        runner: the runner, with its training hooks registered (and resumed, if asked).
        data_loaders: one per workflow phase.
        workflow: e.g. ``[("train", 1)]``.
        config: the validated config.
    """

    runner: Any
    data_loaders: list[Any]
    workflow: list[tuple[str, int]]
    config: JobConfig

    def run(self) -> None:
        """Train: ``runner.run(data_loaders, workflow)``."""
        self.runner.run(self.data_loaders, self.workflow)


def build_job(
    cfg: Mapping[str, Any] | JobConfig,
    *,
    work_dir: str | os.PathLike[str] | None = None,
    resume: str | os.PathLike[str] | bool | None = None,
    overwrite: bool | None = None,
    logger: logging.Logger | None = None,
    meta: dict[str, Any] | None = None,
    container: Container | None = None,
) -> Job:
    """Build everything ``cfg`` describes, ready to :meth:`Job.run`.

    Args:
        cfg: the config (a dict in mmcv's shape, see :class:`JobConfig`).
        work_dir: overrides ``cfg["work_dir"]``.
        resume: a checkpoint path to resume from, True for the work dir's latest checkpoint, or
            ``"auto"``: the latest when there is one, else a fresh start; overrides the config's
            ``resume``/``resume_from``.
        overwrite: start a fresh run even where another run's checkpoints are, deleting them
            (default: the config's ``overwrite``). Without it such a run is refused.
        logger: the runner's logger (default: the ``runnerkit`` logger).
        meta: metadata saved in checkpoints (``seed`` is added when the config sets one).
        container: the component container (default: the current one).

    Raises:
        pydantic.ValidationError: a section has the wrong shape.
        ConfigError: something ``run`` needs is missing, or a component cannot be built from its
            section (the message names the section and the fix), or the checkpoint to resume from
            does not exist.
        WorkDirInUseError: a fresh run (no resume) in a work dir holding another run's
            checkpoints, without ``overwrite`` (see :mod:`runnerkit.workdir`).
        CheckpointError: the checkpoint to resume or load from is damaged or does not fit.
        UnknownComponentError, PluginLoadError: as :func:`runnerkit.build`.
    """
    import torch

    job = cfg if isinstance(cfg, JobConfig) else JobConfig.model_validate(copy_plain(cfg))
    missing = job.missing_for_run()
    if missing:
        lines = "\n".join(f"  - {'.'.join(map(str, loc))}: {msg}" for loc, msg in missing)
        hint = ""
        if job.model is None and job.runner is not None:
            hint = ("\nA config with only a `runner` section is meant for Python: "
                    "`runnerkit.build(cfg[\"runner\"], default_args=dict(model=..., optimizer=...))`.")
        raise ConfigError(f"The config cannot be run yet:\n{lines}{hint}")
    chosen_dir = work_dir if work_dir is not None else job.work_dir
    resume_from = _prepare_work_dir(job, chosen_dir, resume, overwrite)
    container = container or current_container()
    if job.num_threads is not None:
        torch.set_num_threads(job.num_threads)
    if job.seed is not None:
        seed_everything(job.seed, deterministic=job.deterministic)
    assert job.model is not None and job.data is not None  # missing_for_run checked both
    model = build_component(container, "model", job.model, "model")
    if not isinstance(model, torch.nn.Module):
        raise ConfigError(f"`model`: `{job.model['type']}` built a {type(model).__name__}, expected a `torch.nn.Module`.")
    if job.device is not None:
        model = model.to(job.device)
    data_loaders = [build_data_loader(container, job.data, mode, job.seed) for mode, _ in job.workflow]
    optimizer = build_optimizers(model, job.optimizer) if job.optimizer is not None else None
    distributed = _distributed()
    if distributed:  # under torchrun: DDP, and a DistributedSampler for every loader
        from runnerkit.launch import launch

        model, data_loaders = launch(model, data_loaders, seed=job.seed)
    run_meta = dict(meta or {})
    if job.seed is not None:
        run_meta.setdefault("seed", job.seed)
    default_args: dict[str, Any] = {"model": model, "optimizer": optimizer, "meta": run_meta}
    if chosen_dir is not None:
        default_args["work_dir"] = os.fspath(chosen_dir)
    if logger is not None:
        default_args["logger"] = logger
    runner = build(job.runner_config(), default_args, container=container)  # type: ignore[arg-type]
    runner.check_finite = job.check_finite
    if distributed:
        from runnerkit.launch import prepare_runner

        prepare_runner(runner)
    log_config = job.log_config.model_dump() if job.log_config is not None else None
    try:
        runner.register_training_hooks(
            lr_config=job.lr_config, optimizer_config=job.optimizer_config, checkpoint_config=job.checkpoint_config,
            log_config=log_config, momentum_config=job.momentum_config, timer_config=job.timer_config,
            custom_hooks_config=job.custom_hooks,
        )
        if job.evaluation is not None:
            register_evaluation(runner, container, job)
    except RunnerkitError:
        raise
    except (TypeError, ValueError, KeyError) as err:
        raise ConfigError(
            f"A hook section (`lr_config`, `momentum_config`, `optimizer_config`, `checkpoint_config`, "
            f"`log_config`, `custom_hooks`, `evaluation`) cannot be built: {err}"
        ) from err
    if resume_from is not None:
        runner.resume(resume_from)
    elif job.load_from is not None:
        _check_exists(job.load_from, "load_from")
        runner.load_checkpoint(job.load_from)
    return Job(runner, data_loaders, list(job.workflow), job)


def _prepare_work_dir(
    job: JobConfig, work_dir: str | os.PathLike[str] | None, resume: str | os.PathLike[str] | bool | None,
    overwrite: bool | None,
) -> str | None:
    """Clean up the work dir, refuse to mix runs, and return the checkpoint to resume from (if any)."""
    from runnerkit import workdir
    from runnerkit.dist import get_dist_info

    chosen: str | os.PathLike[str] | bool | None
    if resume is not None:
        key, chosen = "resume", resume
    elif job.resume is not None:
        key, chosen = "resume", job.resume
    else:
        key, chosen = "resume_from", job.resume_from
    directory = os.fspath(work_dir) if work_dir is not None else None
    try:
        prepared = workdir.prepare(
            directory, chosen, overwrite=job.overwrite if overwrite is None else overwrite,
            keep=[job.load_from] if job.load_from else [], main_process=get_dist_info()[0] == 0,
        )
    except (FileNotFoundError, ValueError, TypeError) as err:
        if isinstance(err, RunnerkitError):
            raise
        raise ConfigError(f"`{key}`: {err}") from err
    if prepared.removed_previous:
        logging.getLogger("runnerkit").warning(
            "overwrite: deleted the earlier run's checkpoints from `%s`: %s", directory, ", ".join(prepared.removed_previous)
        )
    return prepared.resume_from


def register_evaluation(runner: Any, container: Container, job: JobConfig) -> None:
    """The ``evaluation`` section as an ``EvalHook`` over a loader of ``data.val``, at priority LOW (as mmdet)."""
    cfg: dict[str, Any] = dict(job.evaluation or {})
    distributed = _distributed()
    cfg.setdefault("type", "DistEvalHook" if distributed else "EvalHook")
    cfg.setdefault("by_epoch", getattr(runner, "by_epoch_default", True))
    priority = cfg.pop("priority", "LOW")
    loader = build_data_loader(container, job.data, "val", job.seed)  # type: ignore[arg-type]
    if distributed:  # each rank evaluates its share; DistEvalHook gathers the results
        from runnerkit.launch import distributed_loader

        loader = distributed_loader(loader, seed=job.seed)
    hook = build_component(container, "hook", cfg, "evaluation", dataloader=loader)
    runner.register_hook(hook, priority=priority)


def _distributed() -> bool:
    """Whether a torch.distributed process group exists (``runnerkit run`` under torchrun, any world size)."""
    from runnerkit.dist import is_initialized

    return is_initialized()


def _check_exists(path: str, key: str) -> None:
    if not os.path.exists(path):
        raise ConfigError(f"`{key}`: the checkpoint `{path}` does not exist; check the path (relative to `{os.getcwd()}`).")


def build_component(container: Container, kind: str, cfg: Mapping[str, Any], section: str, **extra: Any) -> Any:
    """``cfg["type"](**rest, **extra)`` with ``type`` found as a component of ``kind``.

    Raises:
        ConfigError: the arguments do not fit the component, or it refuses their values with a
            ``TypeError``/``ValueError`` (the message names ``section``; the cause is chained).
    """
    args = copy_plain(cfg, section)
    spec = args.pop("type")
    factory = resolve(kind, spec, f"{section}.type", container)
    name = spec if isinstance(spec, str) else getattr(spec, "__name__", repr(spec))
    try:
        inspect.signature(factory).bind(**extra, **args)
    except TypeError as err:
        raise ConfigError(
            f"`{section}`: the {kind} `{name}` does not take the arguments {sorted(args)}: {err}. "
            f"`runnerkit show {name}` lists the arguments it takes."
        ) from err
    except ValueError:  # no signature (a builtin); let the call itself speak
        pass
    try:
        return factory(**extra, **args)
    except RunnerkitError:
        raise
    except (TypeError, ValueError) as err:  # the component refused its arguments' values
        raise ConfigError(f"`{section}`: building the {kind} `{name}` failed: {err}") from err


def build_data_loader(container: Container, data: DataConfig, mode: str, seed: int | None = None) -> Any:
    """A ``torch.utils.data.DataLoader`` over ``data.<mode>`` (training data shuffled when ``data.shuffle``)."""
    import torch
    from torch.utils.data import DataLoader

    dataset = build_component(container, "dataset", getattr(data, mode), f"data.{mode}")
    train = mode == "train"
    generator = None
    if seed is not None:
        generator = torch.Generator()
        generator.manual_seed(seed)
    return DataLoader(
        dataset,
        batch_size=data.per_batch,
        shuffle=data.shuffle and train,
        num_workers=data.workers_per_gpu,
        drop_last=data.drop_last and train,
        pin_memory=data.pin_memory,
        persistent_workers=data.persistent_workers and data.workers_per_gpu > 0,
        generator=generator,
    )


def build_optimizers(model: Any, cfg: Mapping[str, Any]) -> Any:
    """One optimizer over ``model``'s parameters, or a dict of them (mmcv's ``build_optimizers``).

    ``dict(type="SGD", lr=0.1)`` -> ``torch.optim.SGD(model.parameters(), lr=0.1)``;
    ``dict(gen=dict(type="Adam"), disc=dict(type="Adam"))`` -> one optimizer per submodule.
    """
    if "type" in cfg:
        return _build_optimizer(model, cfg, "optimizer")
    optimizers = {}
    for name, sub_cfg in cfg.items():
        sub = getattr(model, name, None)
        if sub is None or not hasattr(sub, "parameters"):
            raise ConfigError(
                f"`optimizer.{name}`: a multi-optimizer config builds one optimizer per model submodule, but the "
                f"model ({type(model).__name__}) has no submodule `{name}`; use the submodule names as keys."
            )
        optimizers[name] = _build_optimizer(sub, sub_cfg, f"optimizer.{name}")
    return optimizers


def optimizer_class(spec: Any, section: str = "optimizer") -> Any:
    """The optimizer class ``spec`` names: a ``torch.optim`` name, ``"module:attr"`` or a class."""
    return resolve("optimizer", spec, f"{section}.type")


def _build_optimizer(module: Any, cfg: Mapping[str, Any], section: str) -> Any:
    args = copy_plain(cfg)
    for key in ("paramwise_cfg", "constructor"):
        if key in args:
            raise ConfigError(
                f"`{section}.{key}`: mmcv's optimizer constructors are not supported by configs; build the "
                f"optimizer in Python and pass it to `runnerkit.build(..., default_args=dict(optimizer=...))`."
            )
    cls = optimizer_class(args.pop("type"), section)
    try:
        return cls(module.parameters(), **args)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"`{section}`: cannot build `{cls.__name__}` with {sorted(args)}: {err}.") from err


@contextlib.contextmanager
def job_logging(logger: logging.Logger | None = None, stream: Any = None, level: int = logging.INFO) -> Iterator[logging.Logger]:
    """Send ``logger`` (default ``runnerkit``) records of ``level`` and above to ``stream`` (default stdout) inside the block."""
    logger = logger or logging.getLogger("runnerkit")
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s - %(name)s - %(levelname)s - %(message)s"))
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    try:
        yield logger
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.propagate = old_propagate


@contextlib.contextmanager
def log_file(logger: logging.Logger, path: str) -> Iterator[None]:
    """Also write ``logger``'s records to ``path`` inside the block (mmcv's ``<timestamp>.log``)."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s - %(name)s - %(levelname)s - %(message)s"))
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        handler.close()
