"""The ``runnerkit`` section of a checkpoint, checked before any of it is applied.

:func:`runnerkit.runners.checkpointing.resume` applies a checkpoint's loop position, data
positions, RNG states and hook states. A section that was edited, damaged or written by other
code must not reach those setters: a negative iteration would be accepted silently, an RNG
state of the wrong shape would end in a raw ``RuntimeError`` from torch. :func:`check_state`
validates the whole section against the pydantic models below and raises one
:class:`~runnerkit.CheckpointError` that names every bad part (``runnerkit.loop.iter``,
``runnerkit.rng.torch``, ``runnerkit.hooks.EMAHook``) before anything is changed.
"""

from __future__ import annotations

from typing import Annotated, Any

import torch
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError, field_validator

from runnerkit._errors import CheckpointError

__all__ = ["check_state"]

_Count = Annotated[StrictInt, Field(ge=0)]

#: the byte length of the CPU generator's state (Mersenne Twister; the same on every platform)
_TORCH_STATE_BYTES = torch.get_rng_state().numel()


def _byte_state(value: Any) -> Any:
    if not isinstance(value, torch.Tensor) or value.dtype != torch.uint8 or value.dim() != 1:
        raise ValueError(f"expected a 1-D uint8 tensor (a torch generator state), got {_described(value)}")
    return value


def _cpu_state(value: Any) -> Any:
    _byte_state(value)
    if value.numel() != _TORCH_STATE_BYTES:
        raise ValueError(f"expected {_TORCH_STATE_BYTES} bytes (torch's CPU generator state), got {value.numel()}")
    return value


def _described(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    return f"a {type(value).__name__}"


class _Strict(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True, extra="allow")


class _PassStart(_Strict):
    torch: Any
    generators: list[Any] = []
    sampler_epoch: _Count | None = None

    @field_validator("torch")
    @classmethod
    def _torch(cls, value: Any) -> Any:
        return _cpu_state(value)

    @field_validator("generators")
    @classmethod
    def _generators(cls, value: list[Any]) -> list[Any]:
        return [_byte_state(g) for g in value]


class _PassState(_Strict):
    epoch: _Count
    consumed: _Count = 0
    started: StrictBool = False
    start_state: _PassStart | None = None


class _Loop(_Strict):
    epoch: _Count
    iter: _Count
    inner_iter: _Count
    epoch_done: StrictBool = False
    flow: Annotated[list[_Count], Field(min_length=2, max_length=2)] | None = None
    loaders: dict[str, _PassState] = {}

    @field_validator("loaders")
    @classmethod
    def _indices(cls, value: dict[str, _PassState]) -> dict[str, _PassState]:
        for key in value:
            if not key.isdigit():
                raise ValueError(f"loader keys are indices (\"0\", \"1\", ...), got {key!r}")
        return value


class _NumpyState(_Strict):
    bit_generator: str
    key: Any
    pos: _Count
    has_gauss: StrictInt
    gauss: float

    @field_validator("key")
    @classmethod
    def _key(cls, value: Any) -> Any:
        if not isinstance(value, torch.Tensor) or value.dim() != 1 or value.numel() != 624:
            raise ValueError(f"expected a tensor of 624 integers (NumPy's MT19937 key), got {_described(value)}")
        return value


class _Rng(_Strict):
    python: Any = None
    torch: Any = None
    numpy: _NumpyState | None = None
    cuda: list[Any] | None = None

    @field_validator("python")
    @classmethod
    def _python(cls, value: Any) -> Any:
        if value is None:
            return value
        ok = (isinstance(value, (list, tuple)) and len(value) == 3 and isinstance(value[0], int)
              and isinstance(value[1], (list, tuple)) and len(value[1]) == 625
              and all(type(x) is int and 0 <= x < 2**32 for x in value[1])
              and (value[2] is None or isinstance(value[2], float)))
        if not ok:
            raise ValueError("expected Python's `random.getstate()` as a list: [version, 625 integers, gauss]")
        return value

    @field_validator("torch")
    @classmethod
    def _torch(cls, value: Any) -> Any:
        return None if value is None else _cpu_state(value)

    @field_validator("cuda")
    @classmethod
    def _cuda(cls, value: list[Any] | None) -> list[Any] | None:
        return None if value is None else [_byte_state(v) for v in value]


class _RankState(_Strict):
    rng: _Rng
    loaders: dict[str, _PassState] = {}


class _Section(_Strict):
    format: StrictInt
    loop: _Loop
    rng: _Rng
    hooks: dict[str, dict[str, Any]] = {}
    ranks: list[_RankState] | None = None


def check_state(state: Any, path: str, newest_format: int) -> dict[str, Any]:
    """Return ``state`` (a checkpoint's ``runnerkit`` section) if every part of it can be applied.

    Raises:
        CheckpointError: naming each malformed part (``runnerkit.loop.iter: ...``), or a format
            newer than ``newest_format`` (written by a newer runnerkit).
    """
    if not isinstance(state, dict):
        raise CheckpointError(path, f"has a `runnerkit` section that is {_described(state)}, not a dict; it was not "
                              "written by runnerkit's `save_checkpoint`, or it is damaged.")
    try:
        _Section.model_validate(state)
    except ValidationError as err:
        problems = "; ".join(
            f"`{'.'.join(['runnerkit', *map(str, e['loc'])])}`: {_message(e)}" for e in err.errors()
        )
        raise CheckpointError(
            path, f"has a malformed `runnerkit` section ({problems}); it was not written by runnerkit's "
            "`save_checkpoint`, or it is damaged. Resume from another checkpoint, or load only its weights "
            "with `load_from`."
        ) from None
    if state["format"] > newest_format:
        raise CheckpointError(
            path, f"was written by a newer runnerkit (checkpoint format {state['format']}, this runnerkit reads up to "
            f"{newest_format}); upgrade runnerkit to resume it."
        )
    return state


def _message(error: Any) -> str:
    msg = str(error["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    given = error.get("input")
    if error["type"] not in ("value_error", "missing") and not isinstance(given, (dict, list, torch.Tensor)):
        msg += f" (got {given!r})"
    return msg
