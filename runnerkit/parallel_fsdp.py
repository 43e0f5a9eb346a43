"""Fully sharded data parallel (FSDP2): ``parallel=dict(type="fsdp2", ...)``.

:func:`shard_model` applies ``torch.distributed.fsdp.fully_shard`` to the submodules named by
``shard`` and then to the model itself, in place: every parameter becomes a ``DTensor`` holding
this rank's shard, so parameters, gradients and optimizer state take ``1/world_size`` of the
memory per rank. Build the optimizer **after** sharding (from the sharded model's parameters).
From Python, under ``torchrun``::

    from runnerkit import dist
    from runnerkit.parallel_fsdp import shard_model

    dist.init_dist()
    model = shard_model(model, dict(shard=["Block"], reshard_after_forward=True))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)

A model the user sharded with ``fully_shard`` directly works the same way; only the model's
``train_step``/``val_step`` must then be registered with ``register_fsdp_forward_method`` (done
here) if they do not go through ``forward`` of the root module.

Hooks that read weights or gradients handle ``DTensor`` s through :func:`is_sharded` and
:func:`local_part`: the non-finite check reads local shards and agrees over ranks with one
all-reduce, gradient clipping uses ``clip_grad_norm_`` on ``DTensor`` s, EMA keeps sharded
averages, gradient accumulation uses ``set_requires_gradient_sync``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["FSDP2", "FSDP2Options", "copy_whole_", "is_sharded", "local_part", "set_gradient_sync", "shard_model", "validate_fsdp2",
           "whole"]

_DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32, "fp32": torch.float32, "float16": torch.float16, "fp16": torch.float16,
    "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
}
DTypeName = Literal["float32", "fp32", "float16", "fp16", "bfloat16", "bf16"]


class MixedPrecision(BaseModel):
    """``torch.distributed.fsdp.MixedPrecisionPolicy``'s fields, with dtypes by name."""

    model_config = ConfigDict(extra="forbid")
    param_dtype: DTypeName | None = Field(None, description="dtype of the all-gathered parameters in forward/backward")
    reduce_dtype: DTypeName | None = Field(None, description="dtype of the gradient reduce-scatter")
    output_dtype: DTypeName | None = Field(None, description="dtype the root module's outputs are cast to")
    cast_forward_inputs: bool = Field(True, description="cast floating-point forward inputs to `param_dtype`")

    def policy(self) -> Any:
        """The ``MixedPrecisionPolicy``."""
        from torch.distributed.fsdp import MixedPrecisionPolicy

        def dtype(name: str | None) -> torch.dtype | None:
            return _DTYPES[name] if name is not None else None

        return MixedPrecisionPolicy(param_dtype=dtype(self.param_dtype), reduce_dtype=dtype(self.reduce_dtype),
                                    output_dtype=dtype(self.output_dtype), cast_forward_inputs=self.cast_forward_inputs)


class FSDP2Options(BaseModel):
    """The options of ``parallel=dict(type="fsdp2", ...)``."""

    model_config = ConfigDict(extra="forbid")
    reshard_after_forward: bool | int = Field(
        True, description="free the gathered parameters after forward (True: less memory, one more all-gather in "
        "backward); an int reshards to that many ranks")
    mp_policy: MixedPrecision | None = Field(
        None, description="mixed precision: dict(param_dtype='bfloat16', reduce_dtype='float32', ...)")
    shard: list[str] | None = Field(
        None, description="which submodules get their own `fully_shard` (class names such as `Block`, or module "
        "paths such as `backbone.layer1`); the model itself is always sharded last. Default: every direct child "
        "module that has parameters")


def validate_fsdp2(options: Mapping[str, Any]) -> FSDP2Options:
    """``options`` (``parallel`` without ``type``) checked; a ``ValueError`` names every bad key.

    Example:
        >>> validate_fsdp2({"reshard_after_forward": False}).reshard_after_forward
        False
    """
    try:
        return FSDP2Options.model_validate(dict(options))
    except ValidationError as err:
        problems = "; ".join(f"`{'.'.join(map(str, e['loc']))}`: {e['msg']}" for e in err.errors())
        raise ValueError(
            f"`parallel=dict(type=\"fsdp2\", ...)` has bad options ({problems}). It takes `reshard_after_forward` "
            "(bool or int), `mp_policy` (dict(param_dtype=..., reduce_dtype=..., output_dtype=..., "
            "cast_forward_inputs=...), dtypes by name such as 'bfloat16') and `shard` (a list of class names or "
            "module paths)."
        ) from err


def _targets(model: torch.nn.Module, names: Sequence[str] | None) -> list[torch.nn.Module]:
    """The submodules to shard before the root, outermost last within each match (fully_shard's order)."""
    if names is None:
        return [child for child in model.children() if any(True for _ in child.parameters())]
    modules = dict(model.named_modules())
    found: list[torch.nn.Module] = []
    for name in names:
        if name in modules and name:
            matches = [modules[name]]
        else:
            matches = [m for path, m in modules.items() if path and type(m).__name__ == name]
        if not matches:
            classes = sorted({type(m).__name__ for path, m in modules.items() if path})
            paths = [path for path in modules if path][:8]
            raise ValueError(
                f"`parallel.shard` names `{name}`, which is neither a submodule path nor a submodule class of "
                f"`{type(model).__name__}`. Submodule classes: {', '.join(f'`{c}`' for c in classes[:12])}; paths such "
                f"as {', '.join(f'`{p}`' for p in paths)}."
            )
        found.extend(m for m in matches if m not in found)
    # innermost first: fully_shard of an outer module leaves the already-sharded inner ones alone
    depth = {id(m): path.count(".") for path, m in modules.items()}
    return sorted(found, key=lambda m: -depth[id(m)])


def shard_model(model: torch.nn.Module, options: Mapping[str, Any] | FSDP2Options | None = None) -> torch.nn.Module:
    """Shard ``model`` in place with ``fully_shard`` and return it (build the optimizer afterwards).

    Args:
        model: the built model (with ``train_step``); on the CPU, or moved to this rank's GPU under nccl.
        options: :class:`FSDP2Options` or its dict form (``parallel`` without ``type``).

    Raises:
        DistributedError: torch.distributed is not initialised.
        ValueError: bad options (see :func:`validate_fsdp2`).
    """
    import torch.distributed as torch_dist
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard, register_fsdp_forward_method

    from runnerkit import dist

    opts = options if isinstance(options, FSDP2Options) else validate_fsdp2(options or {})
    if not (torch_dist.is_available() and torch_dist.is_initialized()):
        raise dist.DistributedError(
            "`parallel=dict(type=\"fsdp2\")` needs an initialised process group: call `runnerkit.dist.init_dist()` "
            "first, in a process started by `torchrun`."
        )
    if is_sharded(model):
        return model
    device = dist.collective_device()
    if device.type == "cuda" and any(p.device != device for p in model.parameters()):
        model = model.to(device)
    mesh = init_device_mesh(device.type, (torch_dist.get_world_size(),))
    kwargs: dict[str, Any] = {"mesh": mesh, "reshard_after_forward": opts.reshard_after_forward}
    if opts.mp_policy is not None:
        kwargs["mp_policy"] = opts.mp_policy.policy()
    for module in _targets(model, opts.shard):
        fully_shard(module, **kwargs)
    fully_shard(model, **kwargs)
    for name in ("train_step", "val_step"):
        if callable(getattr(model, name, None)):
            register_fsdp_forward_method(model, name)  # gather the root's own parameters for the step, too
    return model


class _FSDP2:
    """The ``parallel=dict(type="fsdp2", ...)`` strategy of :mod:`runnerkit.parallel`."""

    def check_options(self, options: dict[str, Any]) -> None:
        validate_fsdp2(options)

    def wrap(self, model: torch.nn.Module, options: dict[str, Any]) -> torch.nn.Module:
        return shard_model(model, options)


#: the ``fsdp2`` strategy (``runnerkit.parallel.STRATEGIES["fsdp2"]``).
FSDP2 = _FSDP2()


def is_sharded(model: torch.nn.Module) -> bool:
    """Whether any parameter of ``model`` is a ``DTensor`` (FSDP2, or a user's own sharding)."""
    from torch.distributed.tensor import DTensor

    return any(isinstance(p, DTensor) for p in model.parameters())


def local_part(tensor: torch.Tensor) -> torch.Tensor:
    """This rank's shard of a ``DTensor`` (its local tensor), or ``tensor`` itself.

    Duck-typed (``to_local``), so that per-iteration callers import nothing.
    """
    if tensor.__class__ is torch.Tensor or tensor.__class__ is torch.nn.Parameter:  # the usual case, no lookup
        return tensor
    to_local = getattr(tensor, "to_local", None)
    return to_local() if to_local is not None else tensor  # type: ignore[no-any-return]


def set_gradient_sync(model: torch.nn.Module, sync: bool) -> bool:
    """Turn an FSDP2 model's gradient reduce-scatter on or off (accumulation's no-sync); False if not FSDP2."""
    setter = getattr(type(model), "set_requires_gradient_sync", None)  # FSDPModule's method: no import, and no
    if setter is None:  # nn.Module.__getattr__ on the instance (it builds an error message for a missing name)
        return False
    setter(model, sync)
    return True


def whole(tensor: torch.Tensor) -> torch.Tensor:
    """A ``DTensor``'s whole value (an all-gather: every rank calls it), or ``tensor`` itself."""
    full_tensor = getattr(tensor, "full_tensor", None)
    return full_tensor() if full_tensor is not None else tensor  # type: ignore[no-any-return]


def copy_whole_(target: torch.Tensor, value: torch.Tensor) -> None:
    """Copy a whole tensor into ``target``; a ``DTensor`` target takes its own shard of it (no communication)."""
    if getattr(target, "to_local", None) is None:
        target.copy_(value)
        return
    from torch.distributed.tensor import distribute_tensor

    mine = distribute_tensor(value.to(target.device), target.device_mesh, target.placements, src_data_rank=None)  # type: ignore[attr-defined]
    target.to_local().copy_(mine.to_local())  # type: ignore[attr-defined]
