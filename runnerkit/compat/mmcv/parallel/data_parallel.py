"""``MMDataParallel``: mmcv's one-device wrapper whose ``train_step``/``val_step`` move the batch to the device."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from runnerkit.compat.mmcv.parallel.utils import MODULE_WRAPPERS

__all__ = ["MMDataParallel", "to_device"]


def to_device(obj: Any, device: torch.device) -> Any:
    """``obj`` with every tensor in it (dicts, lists, tuples) moved to ``device``."""
    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=True)
    if isinstance(obj, dict):
        return type(obj)({k: to_device(v, device) for k, v in obj.items()})
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(to_device(v, device) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_device(v, device) for v in obj)
    return obj


@MODULE_WRAPPERS.register_module()
class MMDataParallel(nn.DataParallel):  # type: ignore[type-arg]
    """mmcv's ``MMDataParallel``: on one GPU, or on the CPU without CUDA (or with ``device_ids=[-1]``/``[]``).

    ``forward``, ``train_step`` and ``val_step`` move the inputs to the model's device and call
    the wrapped model; the runner calls ``train_step``/``val_step`` of this wrapper, not of the
    model inside, so batches arrive on the device.

    Example:
        >>> model = MMDataParallel(nn.Linear(2, 1), device_ids=[-1])
        >>> model.device_ids
        []
    """

    def __init__(self, module: nn.Module, device_ids: Sequence[int | torch.device] | None = None,
                 output_device: int | torch.device | None = None, dim: int = 0) -> None:
        if not torch.cuda.is_available() or (device_ids is not None and list(device_ids) in ([], [-1])):
            nn.Module.__init__(self)
            self.module = module
            self.device_ids = []
            self.output_device = None  # type: ignore[assignment]
            self.dim = dim
            return
        super().__init__(module, device_ids=device_ids, output_device=output_device, dim=dim)

    @property
    def device(self) -> torch.device:
        return torch.device(f"cuda:{self.device_ids[0]}") if self.device_ids else torch.device("cpu")

    def scatter(self, inputs: Any, kwargs: Any, device_ids: Sequence[int | torch.device]) -> Any:  # type: ignore[override]
        """mmcv's shape: ``([inputs on the device], [kwargs on the device])``."""
        return [to_device(tuple(inputs), self.device)], [to_device(dict(kwargs or {}), self.device)]

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        if len(self.device_ids) > 1:
            return super().forward(*inputs, **kwargs)
        ins, kws = self.scatter(inputs, kwargs, self.device_ids)
        return self.module(*ins[0], **kws[0])

    def _step(self, name: str, inputs: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if len(self.device_ids) > 1:
            raise ValueError(
                f"MMDataParallel only supports single GPU training, but got device_ids {self.device_ids}; "
                "use MMDistributedDataParallel (one process per GPU) for several GPUs."
            )
        ins, kws = self.scatter(inputs, kwargs, self.device_ids)
        return getattr(self.module, name)(*ins[0], **kws[0])

    def train_step(self, *inputs: Any, **kwargs: Any) -> Any:
        return self._step("train_step", inputs, kwargs)

    def val_step(self, *inputs: Any, **kwargs: Any) -> Any:
        return self._step("val_step", inputs, kwargs)
