"""The schema of a job config: every section of an mmcv 1.x-shaped config file, as pydantic models.

:class:`JobConfig` documents and checks the sections' shapes; the arguments inside each section are
checked against the argument model of the component it names (see :mod:`runnerkit.check`).
Keys runnerkit does not use are kept (mmcv configs hold helper variables such as ``data_root``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, NonNegativeInt, WithJsonSchema

from runnerkit._bounds import Count, Device, Seed
from runnerkit.runners.compile import COMPILE_DESCRIPTION, COMPILE_SCHEMA, compile_options

__all__ = ["MMCV_KEYS", "ComponentConfig", "DataConfig", "JobConfig", "LogConfig", "known_keys"]

#: Top-level keys of mmcv/OpenMMLab configs that runnerkit accepts and does not use.
MMCV_KEYS = frozenset({
    "auto_resume", "auto_scale_lr", "checkpoint", "cudnn_benchmark", "custom_imports", "default_hooks",
    "default_scope", "device_ids", "dist_params", "env_cfg", "fp16", "gpu_ids",
    "launcher", "log_level", "log_processor", "mp_start_method", "opencv_num_threads", "test_cfg",
    "train_cfg", "val_cfg", "visualizer",
})


def _has_type(value: dict[str, Any]) -> dict[str, Any]:
    if "type" not in value:
        keys = ", ".join(f"`{k}`" for k in value) or "no keys"
        raise ValueError(f"needs a `type` key naming the component (it has {keys}), e.g. `dict(type=\"Name\", ...)`")
    return value


def _path_text(value: str) -> str:
    if not value or "\0" in value:
        raise ValueError(f"expected a path, got `{value!r:.60}` ({'empty' if not value else 'it holds a NUL character'})")
    return value


#: a file or folder path written in a config: a non-empty string without NUL (no bytes, no number).
PathText = Annotated[str, Field(strict=True), AfterValidator(_path_text)]

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


def _compile_value(value: Any) -> Any:
    compile_options(value)
    return value


def _parallel_value(value: dict[str, Any]) -> dict[str, Any]:
    from runnerkit.parallel import check_parallel

    check_parallel(value)
    return value


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
    samples_per_gpu: Count | None = Field(
        default=None, description="Batch size per process (mmcv's name; `batch_size` is accepted too). Default 1."
    )
    batch_size: Count | None = Field(default=None, description="Alias of `samples_per_gpu`; give only one of the two.")
    workers_per_gpu: Annotated[NonNegativeInt, Field(le=1024)] = Field(
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

    interval: Count = Field(default=10, description="Log every this many iterations (passed to each logger hook).")
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
        "model's parameters are passed in. `paramwise_cfg=dict(...)` sets per-parameter multipliers and `constructor` "
        "names the optimizer constructor (see [`optimizer`](#optimizer)). For several optimizers, one such dict per "
        "model submodule name.",
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
    total_epochs: Count | None = Field(
        default=None, description="Legacy mmcv key: with no `runner` section, means `EpochBasedRunner(max_epochs=...)`."
    )
    workflow: list[tuple[Literal["train", "val"], Count]] = Field(
        default_factory=lambda: [("train", 1)], min_length=1,  # type: ignore[arg-type]
        description="Phases in turn, e.g. `[(\"train\", 1), (\"val\", 1)]` (epochs for EpochBasedRunner, "
        "iterations for IterBasedRunner).",
    )
    work_dir: PathText | None = Field(
        default=None, description="Where checkpoints and logs go; `runnerkit run` defaults to `./work_dirs/<config name>`."
    )
    load_from: PathText | None = Field(default=None, description="Checkpoint whose weights initialise the model.")
    resume_from: PathText | None = Field(
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
    seed: Seed | None = Field(
        default=None, description="Seed for Python, NumPy and torch before anything is built (deterministic runs)."
    )
    deterministic: bool = Field(
        default=False, description="With `seed`: make torch use deterministic algorithms (`runnerkit.seed_everything`)."
    )
    num_threads: Annotated[Count, Field(le=65536)] | None = Field(
        default=None, description="`torch.set_num_threads` for the run; 1 is fastest for small models on a busy CPU "
        "(None: torch's default, one thread per core).",
    )
    device: Device | None = Field(
        default=None, description="Move the model there before building the optimizer (`\"cuda\"`, `\"cpu\"`); "
        "the model's `train_step` moves each batch.",
    )
    check_finite: bool = Field(
        default=True, description="Stop with `NonFiniteLossError` at the first log interval or checkpoint after a "
        "logged loss became NaN/inf, and never write a checkpoint with non-finite weights; `false` turns the guard "
        "off (`runner.check_finite`).",
    )
    parallel: Annotated[dict[str, Any], AfterValidator(_parallel_value)] | None = Field(
        default=None, description="How a multi-process launch spreads the model over the ranks: "
        "`dict(type=\"ddp\", **options)` (the default; the options are `DistributedDataParallel`'s keyword "
        "arguments, e.g. `find_unused_parameters=True`), or `dict(type=\"fsdp2\", shard=[...], "
        "reshard_after_forward=True, mp_policy=dict(...))` to shard the model with FSDP2 (docs/distributed.md). "
        "Unused in one process.",
    )
    find_unused_parameters: bool | None = Field(
        default=None, description="mmcv's key: the same as `parallel=dict(type=\"ddp\", find_unused_parameters=...)` "
        "(for models whose forward leaves some parameters without a gradient).",
    )
    compile: Annotated[Any, AfterValidator(_compile_value), WithJsonSchema(COMPILE_SCHEMA)] = Field(
        default=False, description=COMPILE_DESCRIPTION + " Passed to the runner (a `runner.compile` key wins)."
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


def known_keys() -> list[str]:
    """The top-level keys a config may hold: :class:`JobConfig`'s sections and :data:`MMCV_KEYS`."""
    return sorted({*JobConfig.model_fields, *MMCV_KEYS})
