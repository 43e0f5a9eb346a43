"""Reading checkpoints written by mmcv 1.x's runner: its EMA buffers and its lack of a loop state.

mmcv's ``EMAHook`` kept the averages as extra buffers of the model, ``ema_<param name with
dots as underscores>``; runnerkit's :class:`~runnerkit.hooks.EMAHook` keeps them in the hook's
state. Loading such a checkpoint takes those buffers out of the weights (they would be
unexpected keys) and, on ``resume``, into the EMA hook.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch

from runnerkit.dist import unwrap_model

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = ["MMCV_EMA", "resume_ema", "split_ema"]

#: the key under which :func:`split_ema` leaves the EMA buffers in the loaded checkpoint dict
MMCV_EMA = "mmcv_ema"


def _ema_names(model: torch.nn.Module) -> dict[str, str]:
    return {f"ema_{name.replace('.', '_')}": name for name, _ in model.named_parameters()}


def split_ema(checkpoint: dict[str, Any], model: torch.nn.Module) -> dict[str, Any]:
    """Move an mmcv checkpoint's ``ema_*`` buffers out of its ``state_dict`` into ``checkpoint[MMCV_EMA]``.

    Only checkpoints without runnerkit's state are touched, and only keys that are the EMA
    buffer of one of ``model``'s parameters (and not a key of the model itself).

    Example:
        >>> net = torch.nn.Linear(1, 1)
        >>> ckpt = split_ema({"state_dict": {"weight": net.weight, "bias": net.bias, "ema_weight": net.weight}}, net)
        >>> sorted(ckpt["state_dict"]), list(ckpt[MMCV_EMA])
        (['bias', 'weight'], ['weight'])
    """
    state = checkpoint.get("state_dict")
    if "runnerkit" in checkpoint or not isinstance(state, Mapping):
        return checkpoint
    names = _ema_names(model)
    own = set(model.state_dict())
    found = {key: value for key, value in state.items() if key in names and key not in own}
    if not found:
        return checkpoint
    kept: Any = type(state)((k, v) for k, v in state.items() if k not in found) if isinstance(state, dict) else {
        k: v for k, v in state.items() if k not in found}
    if hasattr(state, "_metadata"):
        kept._metadata = state._metadata
    out = dict(checkpoint, state_dict=kept)
    out[MMCV_EMA] = {names[key]: value for key, value in found.items()}
    return out


def resume_ema(runner: BaseRunner, checkpoint: Mapping[str, Any]) -> None:
    """Give an mmcv checkpoint's EMA buffers to the runner's EMAHook (a warning when it has none).

    mmcv swapped the averages into the model at the end of every training epoch, so an epoch
    checkpoint holds the averages as weights and the training weights in the buffers; an
    iteration checkpoint holds them the other way round.
    """
    ema = checkpoint.get(MMCV_EMA)
    if not ema:
        return
    from runnerkit.hooks.ema import EMAHook

    hooks = [h for h in runner.hooks if isinstance(h, EMAHook)]
    if not hooks:
        warnings.warn(
            f"The checkpoint holds mmcv EMA buffers for {len(ema)} parameters, but no EMAHook is registered: the "
            "averages are dropped. Register `EMAHook` (custom_hooks) before `resume` to continue them.",
            stacklevel=3,
        )
        return
    hook = hooks[0]
    model = unwrap_model(runner.model)
    swapped = getattr(runner, "max_epochs", None) is not None
    shadow: dict[str, torch.Tensor] = {}
    for name, param in model.named_parameters():
        shadow[name] = ema[name] if name in ema else param.detach().clone()
    if not hook.skip_buffers:
        shadow.update((name, b.detach().clone()) for name, b in model.named_buffers() if b.dtype.is_floating_point)
    hook.load_state_dict({"shadow": shadow, "swapped": swapped, "step": runner.iter - 1})
