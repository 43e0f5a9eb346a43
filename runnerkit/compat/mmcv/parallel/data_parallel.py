"""``MMDataParallel``: mmcv's one-device wrapper whose ``train_step``/``val_step`` scatter the batch to the device."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from runnerkit.compat.mmcv.parallel.scatter_gather import scatter_kwargs
from runnerkit.compat.mmcv.parallel.utils import MODULE_WRAPPERS

__all__ = ["MMDataParallel"]


@MODULE_WRAPPERS.register_module()
class MMDataParallel(nn.DataParallel):  # type: ignore[type-arg]
    """mmcv's ``MMDataParallel``: on one GPU, or on the CPU without CUDA (or with ``device_ids=[-1]``/``[]``).

    ``forward``, ``train_step`` and ``val_step`` scatter the inputs as mmcv does (DataContainers
    unwrapped, tensors moved to the GPU; on the CPU left where they are) and call the wrapped
    model; the runner calls ``train_step``/``val_step`` of this wrapper, not of the model inside,
    so batches arrive on the device.

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
        """:func:`scatter_kwargs`: ``((inputs per device), (kwargs per device))``; ``[-1]`` is the CPU."""
        return scatter_kwargs(inputs, kwargs, list(device_ids), dim=self.dim)  # type: ignore[arg-type]

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        if self.device_ids:
            return super().forward(*inputs, **kwargs)
        ins, kws = self.scatter(inputs, kwargs, [-1])
        return self.module(*ins[0], **kws[0])

    def _step(self, name: str, inputs: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if len(self.device_ids) > 1:
            raise ValueError(
                f"MMDataParallel only supports single GPU training, but got device_ids {self.device_ids}; "
                "use MMDistributedDataParallel (one process per GPU) for several GPUs."
            )
        ins, kws = self.scatter(inputs, kwargs, self.device_ids or [-1])
        return getattr(self.module, name)(*ins[0], **kws[0])

    def train_step(self, *inputs: Any, **kwargs: Any) -> Any:
        return self._step("train_step", inputs, kwargs)

    def val_step(self, *inputs: Any, **kwargs: Any) -> Any:
        return self._step("val_step", inputs, kwargs)
