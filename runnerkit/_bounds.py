"""Bounds on values a config gives: counts, seeds, devices and gradient clipping.

Each value is checked where the config is checked (``runnerkit validate``), so that a value no part
of a run can represent (``max_iters=2**70``, ``seed=2**80``, ``device="meta"``,
``grad_clip=dict(norm_type="abc")``) is a validation error naming its key, not a traceback at
the first log line or at the first step.

Example:
    >>> check_device("cuda:0")
    'cuda:0'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, Field, PositiveInt

__all__ = ["DEVICE_TYPES", "MAX_COUNT", "SEED_MAX", "SEED_MIN", "Count", "Device", "GradClip", "Seed",
           "check_device", "check_grad_clip", "check_seed"]

#: the largest count (iterations, epochs, intervals, batch sizes) a run can represent: int64, as
#: torch's tensors, samplers and checkpoint counters hold it.
MAX_COUNT = 2**63 - 1
#: ``torch.manual_seed`` accepts seeds in this range (NumPy gets the seed modulo 2**32).
SEED_MIN, SEED_MAX = -(2**63), 2**64 - 1
#: device types a model can be moved to and trained on (``"meta"`` holds no data).
DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu")

#: a positive int a run can count to (at most :data:`MAX_COUNT`).
Count = Annotated[PositiveInt, Field(le=MAX_COUNT)]


def check_seed(value: int) -> int:
    """``value`` when ``torch.manual_seed`` can take it, else ``ValueError`` saying the range."""
    if not SEED_MIN <= value <= SEED_MAX:
        raise ValueError(f"a seed must be from -2**63 to 2**64-1 (what `torch.manual_seed` takes), got "
                         f"a {len(str(abs(value)))}-digit number; e.g. `seed=42`")
    return value


def check_device(value: str) -> str:
    """``value`` when it names a device a model can be trained on (``"cuda:1"``), else ``ValueError``."""
    import torch

    try:
        device = torch.device(value)
    except (RuntimeError, ValueError, TypeError) as err:
        raise ValueError(f"`{value:.60}` is not a device: {str(err).splitlines()[0][:200]}; e.g. `\"cuda\"`, "
                         f"`\"cuda:1\"` or `\"cpu\"`") from None
    if device.type not in DEVICE_TYPES:
        what = "holds no data, so nothing can be trained on it" if device.type == "meta" else "is not a training device"
        raise ValueError(f"the device type `{device.type}` {what}; give one of {', '.join(DEVICE_TYPES)} "
                         f"(e.g. `\"cuda\"` or `\"cpu\"`)")
    return value


_CLIP_KEYS = ("max_norm", "norm_type", "error_if_nonfinite", "foreach")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_grad_clip(value: Mapping[str, Any]) -> Mapping[str, Any]:
    """``dict(max_norm=35, norm_type=2)`` for ``clip_grad_norm_``: keys and value types checked."""
    if "max_norm" not in value:
        raise ValueError(f"`grad_clip` must be a dict with `max_norm` (e.g. dict(max_norm=35, norm_type=2)), got `{dict(value)!r:.80}`")
    unknown = sorted(str(k) for k in value if k not in _CLIP_KEYS)
    if unknown:
        raise ValueError(f"Unknown `grad_clip` keys {unknown}; accepted: {', '.join(_CLIP_KEYS)}")
    max_norm, norm_type = value["max_norm"], value.get("norm_type", 2)
    if not _number(max_norm) or not max_norm > 0:
        raise ValueError(f"`grad_clip.max_norm` must be a positive number, got {type(max_norm).__name__} `{max_norm!r:.40}`")
    if not (_number(norm_type) and norm_type == norm_type) and norm_type not in ("inf", "-inf"):  # NaN is no norm
        raise ValueError(f"`grad_clip.norm_type` must be a number (2 for the L2 norm) or \"inf\", got "
                         f"{type(norm_type).__name__} `{norm_type!r:.40}`")
    for key in ("error_if_nonfinite", "foreach"):
        flag = value.get(key)
        if flag is not None and not isinstance(flag, bool):
            raise ValueError(f"`grad_clip.{key}` must be true or false, got {type(flag).__name__} `{flag!r:.40}`")
    return value


#: ``seed``: an int ``torch.manual_seed`` takes.
Seed = Annotated[int, AfterValidator(check_seed)]
#: ``device``: a device string naming a training device.
Device = Annotated[str, AfterValidator(check_device)]
#: ``grad_clip``: the keyword arguments of ``clip_grad_norm_``.
GradClip = Annotated[Mapping[str, Any], AfterValidator(check_grad_clip)]
