"""``MMDistributedDataParallel``: DDP whose ``train_step``/``val_step`` go through DDP's forward (mmcv 1.x)."""

from __future__ import annotations

from typing import Any

from torch.nn.parallel import DistributedDataParallel

from runnerkit.compat.mmcv.parallel.scatter_gather import scatter_kwargs
from runnerkit.compat.mmcv.parallel.utils import MODULE_WRAPPERS

__all__ = ["MMDistributedDataParallel"]

_MISSING = object()


@MODULE_WRAPPERS.register_module()
class MMDistributedDataParallel(DistributedDataParallel):
    """DDP with mmcv's ``train_step``/``val_step``.

    A step runs through DDP's ``forward`` (which moves the inputs to the device and prepares the
    gradient all-reduce), standing in for the wrapped model's ``forward`` for that one call, so the
    ranks stay in step. The inputs are first scattered as mmcv does (:func:`scatter_kwargs`:
    DataContainers unwrapped, their tensors moved to this rank's device unless ``cpu_only``). The
    runners treat it as any DDP model.
    """

    def scatter(self, inputs: Any, kwargs: Any, device_ids: list[int]) -> Any:  # type: ignore[override]
        """:func:`scatter_kwargs` over ``device_ids`` (``[-1]``: the CPU)."""
        return scatter_kwargs(inputs, kwargs, device_ids, dim=self.dim)

    def to_kwargs(self, inputs: Any, kwargs: Any, device_id: int) -> Any:  # type: ignore[override]
        return scatter_kwargs(inputs, kwargs, [device_id], dim=self.dim)

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        """DDP's forward; on the CPU (no ``device_ids``, where DDP scatters nothing) the inputs are
        scattered first, so that an evaluation's ``model(return_loss=False, **data)`` unwraps DataContainers."""
        if not self.device_ids:
            scattered, scattered_kwargs = self.scatter(inputs, kwargs, [-1])
            inputs, kwargs = scattered[0], scattered_kwargs[0]
        return super().forward(*inputs, **kwargs)

    def _step(self, name: str, inputs: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        inner = self.module
        step = getattr(inner, name)
        saved = inner.__dict__.get("forward", _MISSING)

        def restore() -> None:
            if saved is _MISSING:
                inner.__dict__.pop("forward", None)
            else:
                inner.__dict__["forward"] = saved

        def step_once(*args: Any, **kw: Any) -> Any:
            restore()  # the model's own `self(x)` inside the step reaches its real forward
            return step(*args, **kw)

        scattered, scattered_kwargs = self.scatter(inputs, kwargs, list(self.device_ids or [-1]))
        inner.__dict__["forward"] = step_once
        try:
            return self(*scattered[0], **scattered_kwargs[0])
        finally:
            restore()

    def train_step(self, *inputs: Any, **kwargs: Any) -> Any:
        return self._step("train_step", inputs, kwargs)

    def val_step(self, *inputs: Any, **kwargs: Any) -> Any:
        return self._step("val_step", inputs, kwargs)
