"""The job builder: a whole training job from one config (model, data, optimizers, runner, hooks, workflow).

This is what ``runnerkit run CONFIG`` and ``runnerkit demo`` do, for use from Python too.
The config has mmcv 1.x's shape; :class:`~runnerkit.job_config.JobConfig` documents every section,
:func:`runnerkit.check.check_config` checks it (every problem at once) before anything is built,
and :mod:`runnerkit.factories` builds each section.
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

import dataclasses
import logging
import os
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from runnerkit._build import build, copy_plain, current_container
from runnerkit._container import Container
from runnerkit._errors import ConfigError, RunnerkitError
from runnerkit.check import check_config, format_problems, is_code
from runnerkit.factories import build_component, build_data_loader, build_optimizers, optimizer_class
from runnerkit.job_config import DataConfig, JobConfig, LogConfig
from runnerkit.seed import seed_everything

__all__ = [
    "DataConfig",
    "Job",
    "JobConfig",
    "LogConfig",
    "build_component",
    "build_data_loader",
    "build_job",
    "build_optimizers",
    "optimizer_class",
    "register_evaluation",
]


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
    #: this process's hold on the work dir's lock (rank 0), given back when :meth:`run` ends.
    lock: Any = None

    def run(self) -> None:
        """Train: ``runner.run(data_loaders, workflow)``; the work dir is unlocked when it ends, however it ends."""
        try:
            self.runner.run(self.data_loaders, self.workflow)
        finally:
            if self.lock is not None:
                self.lock.release()


def build_job(
    cfg: Mapping[str, Any] | JobConfig,
    *,
    work_dir: str | os.PathLike[str] | None = None,
    resume: str | os.PathLike[str] | bool | None = None,
    overwrite: bool | None = None,
    logger: logging.Logger | None = None,
    meta: dict[str, Any] | None = None,
    container: Container | None = None,
    sources: Sequence[str | os.PathLike[str]] = (),
) -> Job:
    """Build everything ``cfg`` describes, ready to :meth:`Job.run`.

    The work dir is locked first (rank 0): a second run there, in another process, is refused
    before anything in the work dir is touched; the lock is held until :meth:`Job.run` ends
    (or the job is dropped, or this process ends).

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
        sources: the config's files (``read_config(path).sources``), so that problems name their lines.
            A config whose files are all ``.py`` is code; without files the mapping is data
            (docs/security.md: e.g. only the safe ``compile`` options).

    Raises:
        ConfigError: the config check found problems (all of them are in the message and in
            ``problems``), something ``run`` needs is missing, a component refused its values, or
            the checkpoint to resume from does not exist.
        WorkDirInUseError: a fresh run (no resume) in a work dir holding another run's
            checkpoints, without ``overwrite`` (see :mod:`runnerkit.workdir`).
        WorkDirLockedError: another process is running in the work dir.
        CheckpointError: the checkpoint to resume or load from is damaged or does not fit.
        UnknownComponentError, PluginLoadError: as :func:`runnerkit.build`.
    """
    holds: list[Any] = []
    try:
        built = _build_job(cfg, holds, work_dir=work_dir, resume=resume, overwrite=overwrite, logger=logger,
                           meta=meta, container=container, sources=sources)
    except BaseException:
        for hold in holds:
            hold.release()
        raise
    if holds:
        built.lock = holds[0]
        weakref.finalize(built, holds[0].release)  # a job built and never run does not keep the work dir locked
    return built


def _build_job(
    cfg: Mapping[str, Any] | JobConfig,
    holds: list[Any],
    *,
    work_dir: str | os.PathLike[str] | None,
    resume: str | os.PathLike[str] | bool | None,
    overwrite: bool | None,
    logger: logging.Logger | None,
    meta: dict[str, Any] | None,
    container: Container | None,
    sources: Sequence[str | os.PathLike[str]],
) -> Job:
    """:func:`build_job`; the work dir's lock, once taken, goes into ``holds``."""
    import torch

    from runnerkit.dist import unwrap_model

    container = container or current_container()
    if not isinstance(cfg, JobConfig):
        problems = check_config(cfg, sources=[os.fspath(s) for s in sources], container=container, work_dir=work_dir)
        if len(problems) == 1 and problems[0].error is not None:
            raise problems[0].error  # one failed lookup: its own error (UnknownComponentError, PluginLoadError, ...)
        if problems:
            count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
            raise ConfigError(f"The config has {count}:\n{format_problems(problems)}", problems=problems)
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
    resume_from = _prepare_work_dir(job, chosen_dir, resume, overwrite, holds)
    if job.num_threads is not None:
        torch.set_num_threads(job.num_threads)
    if job.seed is not None:
        seed_everything(job.seed, deterministic=job.deterministic)
    assert job.model is not None and job.data is not None  # missing_for_run checked both
    model = build_component(container, "model", job.model, "model")
    if not isinstance(model, torch.nn.Module):
        raise ConfigError(f"`model`: `{job.model['type']}` built a {type(model).__name__}, expected a `torch.nn.Module`.")
    if job.device is not None:
        try:
            model = model.to(job.device)
        except (RuntimeError, AssertionError, ImportError) as err:  # a device this torch or machine lacks
            raise ConfigError(f"`device`: cannot move the model to `{job.device}` on this machine: {err}; give "
                              f"a device it has (`\"cpu\"`, or `\"cuda\"` where torch sees a GPU).") from err
    data_loaders = [build_data_loader(container, job.data, mode, job.seed) for mode, _ in job.workflow]
    distributed = _distributed()
    if distributed:  # under a launcher: `parallel` (DDP by default), and a DistributedSampler for every loader
        model, data_loaders = _spread(model, data_loaders, job)
    optimizer = build_optimizers(unwrap_model(model), job.optimizer) if job.optimizer is not None else None
    run_meta = dict(meta or {})
    if job.seed is not None:
        run_meta.setdefault("seed", job.seed)
    default_args: dict[str, Any] = {"model": model, "optimizer": optimizer, "meta": run_meta}
    if chosen_dir is not None:
        default_args["work_dir"] = os.fspath(chosen_dir)
    if logger is not None:
        default_args["logger"] = logger
    if job.compile is not False:  # only then: a runner whose argument model lacks `compile` still builds
        default_args["compile"] = job.compile
    runner_cfg = dict(job.runner_config() or {})
    if "compile" in runner_cfg and is_code([os.fspath(s) for s in sources]):
        default_args["compile"] = runner_cfg.pop("compile")  # a .py config is code: any option (build() treats cfg as data)
    runner = build(runner_cfg, default_args, container=container)
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
    overwrite: bool | None, holds: list[Any],
) -> str | None:
    """Lock and clean up the work dir, refuse to mix runs, and return the checkpoint to resume from (if any)."""
    from runnerkit import workdir
    from runnerkit.agreement import decide_once

    chosen: str | os.PathLike[str] | bool | None
    if resume is not None:
        key, chosen = "resume", resume
    elif job.resume is not None:
        key, chosen = "resume", job.resume
    else:
        key, chosen = "resume_from", job.resume_from
    directory = os.fspath(work_dir) if work_dir is not None else None
    out_dir = (job.checkpoint_config or {}).get("out_dir")
    folder = workdir.checkpoint_folder(directory, out_dir) if isinstance(out_dir, str | os.PathLike) else None

    def decide() -> str | None:
        try:
            prepared = workdir.prepare(
                directory, chosen, overwrite=job.overwrite if overwrite is None else overwrite,
                keep=[job.load_from] if job.load_from else [], checkpoint_dirs=[folder] if folder is not None else [],
            )
        except (FileNotFoundError, ValueError, TypeError) as err:
            if isinstance(err, RunnerkitError):
                raise
            raise ConfigError(f"`{key}`: {err}") from err
        if prepared.lock is not None:
            holds.append(prepared.lock)
        if prepared.removed_previous:
            logging.getLogger("runnerkit").warning(
                "overwrite: deleted the earlier run's checkpoints from `%s`: %s", directory,
                ", ".join(prepared.removed_previous),
            )
        return prepared.resume_from

    # distributed: rank 0 decides (and locks) for every rank, and every rank must be able to read what it chose
    return decide_once(decide, reads=lambda resume_from: [resume_from] if resume_from else [job.load_from])


def register_evaluation(runner: Any, container: Container, job: JobConfig) -> None:
    """The ``evaluation`` section as an ``EvalHook`` over a loader of ``data.val``, at priority LOW (as mmdet)."""
    cfg: dict[str, Any] = dict(job.evaluation or {})
    distributed = _distributed()
    cfg.setdefault("type", "DistEvalHook" if distributed else "EvalHook")
    cfg.setdefault("by_epoch", runner.loop.by_epoch)
    priority = cfg.pop("priority", "LOW")
    loader = build_data_loader(container, job.data, "val", job.seed)  # type: ignore[arg-type]
    if distributed:  # each rank evaluates its share; DistEvalHook gathers the results
        from runnerkit.launch import distributed_loader

        loader = distributed_loader(loader, seed=job.seed)
    hook = build_component(container, "hook", cfg, "evaluation", dataloader=loader)
    runner.register_hook(hook, priority=priority)


def _spread(model: Any, data_loaders: list[Any], job: JobConfig) -> tuple[Any, list[Any]]:
    """The model as ``job.parallel`` spreads it over the ranks (before the optimizer is built), and split loaders."""
    from runnerkit.launch import distributed_loader
    from runnerkit.parallel import parallel_config, parallelize

    try:
        runner_parallel = (job.runner_config() or {}).get("parallel")  # the runner's argument, when only it is given
        cfg = parallel_config(job.parallel if job.parallel is not None else runner_parallel, job.find_unused_parameters)
    except ValueError as err:
        raise ConfigError(f"`parallel`: {err}") from err
    return parallelize(model, cfg), [distributed_loader(loader, seed=job.seed) for loader in data_loaders]


def _distributed() -> bool:
    """Whether a torch.distributed process group exists (``runnerkit run`` under torchrun, any world size)."""
    from runnerkit.dist import is_initialized

    return is_initialized()


def _check_exists(path: str, key: str) -> None:
    if not os.path.exists(path):
        raise ConfigError(f"`{key}`: the checkpoint `{path}` does not exist; check the path (relative to `{os.getcwd()}`).")
