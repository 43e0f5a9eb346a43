"""The component factories of a job: a config section in, the object it describes out.

Each factory finds the section's ``type`` through the container (under the config rules of
``docs/security.md``), checks the section's arguments against the component's argument model
(:func:`runnerkit.args_model`) and calls it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runnerkit._build import copy_plain
from runnerkit._container import Container
from runnerkit._errors import ConfigError, RunnerkitError
from runnerkit._resolve import resolve
from runnerkit.job_config import DataConfig

__all__ = ["build_component", "build_data_loader", "build_optimizers", "optimizer_class"]


def build_component(container: Container, kind: str, cfg: Mapping[str, Any], section: str, **extra: Any) -> Any:
    """``cfg["type"](**rest, **extra)`` with ``type`` found as a component of ``kind``.

    The arguments are checked against the component's argument model first; ``extra`` holds
    what code supplies (an ``EvalHook``'s ``dataloader``).

    Raises:
        ConfigError: the arguments do not fit the component, or it refuses their values with a
            ``TypeError``/``ValueError`` (the message names ``section``; the cause is chained).
    """
    from pydantic import ValidationError

    from runnerkit._args import model_of, runtime_fields, validate_args

    args = copy_plain(cfg, section)
    spec = args.pop("type")
    factory = resolve(kind, spec, f"{section}.type", container)
    name = spec if isinstance(spec, str) else getattr(spec, "__name__", repr(spec))
    dataset = getattr(extra.get("dataloader"), "dataset", None)
    model = model_of(factory, kind, {"dataset": type(dataset)} if dataset is not None else None)
    try:
        validate_args(model, {**extra, **args}, name, supplied=runtime_fields(model))
    except ValidationError as err:
        details = "; ".join(f"`{'.'.join(map(str, e['loc']))}`: {e['msg']}" for e in err.errors())
        raise ConfigError(
            f"`{section}`: the {kind} `{name}` does not take these arguments: {details}. "
            f"`runnerkit show {name}` lists the arguments it takes."
        ) from err
    try:
        return factory(**extra, **args)
    except RunnerkitError:
        raise
    except (TypeError, ValueError, AssertionError) as err:  # the component refused its arguments' values
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
    """The optimizer of one config section: through its ``constructor`` (default ``DefaultOptimizerConstructor``)."""
    from runnerkit.optim.builder import split_optimizer_cfg

    spec, optimizer_cfg, paramwise_cfg = split_optimizer_cfg(copy_plain(cfg))
    if "constructor" not in cfg and not paramwise_cfg:  # the common case: one group, no constructor to look up
        args = dict(optimizer_cfg)
        cls = optimizer_class(args.pop("type"), section)
        try:
            return cls(module.parameters(), **args)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"`{section}`: cannot build `{cls.__name__}` with {sorted(args)}: {err}.") from err
    optimizer_class(optimizer_cfg["type"], section)  # a bad `type` is named as `optimizer.type`
    constructor = _optimizer_constructor(spec, optimizer_cfg, paramwise_cfg, section)
    try:
        return constructor(module)
    except RunnerkitError:
        raise
    except (TypeError, ValueError, KeyError) as err:
        raise ConfigError(f"`{section}`: the optimizer constructor `{_name(spec)}` failed: {err}") from err


def _optimizer_constructor(spec: Any, optimizer_cfg: dict[str, Any], paramwise_cfg: Any, section: str) -> Any:
    """The constructor ``spec`` names, its ``paramwise_cfg`` checked against its argument model first."""
    from pydantic import ValidationError

    from runnerkit._args import model_of, runtime_fields, validate_args

    cls = resolve("optimizer_constructor", spec, f"{section}.constructor", _current())
    args = {"optimizer_cfg": optimizer_cfg, "paramwise_cfg": paramwise_cfg}
    model = model_of(cls, "optimizer_constructor")
    try:
        validate_args(model, args, _name(spec), supplied=runtime_fields(model))
    except ValidationError as err:
        details = "; ".join(f"`{section}.{'.'.join(map(str, e['loc']))}`: {e['msg']}" for e in err.errors())
        raise ConfigError(f"`{section}`: the optimizer constructor `{_name(spec)}` refuses its arguments: {details}. "
                          f"`runnerkit show {_name(spec)}` lists what it takes.") from err
    try:
        return cls(**args)
    except RunnerkitError:
        raise
    except (TypeError, ValueError) as err:
        raise ConfigError(f"`{section}`: building the optimizer constructor `{_name(spec)}` failed: {err}") from err


def _name(spec: Any) -> str:
    return spec if isinstance(spec, str) else str(getattr(spec, "__name__", spec))


def _current() -> Container:
    from runnerkit._build import current_container

    return current_container()
