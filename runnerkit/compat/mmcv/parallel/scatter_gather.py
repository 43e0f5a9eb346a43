"""mmcv's ``scatter`` and ``scatter_kwargs``: inputs split over devices, :class:`DataContainer` aware.

``target_gpus=[-1]`` is the CPU: tensors stay where they are and DataContainers are unwrapped, so
a model sees the same inputs on the CPU as on a GPU.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.nn.parallel._functions import Scatter as TorchScatter

from runnerkit.compat.mmcv.parallel.data_container import DataContainer

__all__ = ["scatter", "scatter_kwargs"]


def _to_devices(data: Any, devices: list[int]) -> tuple[Any, ...]:
    """A collated DataContainer's per-GPU entries, entry ``i`` on ``devices[i // chunk]`` (CPU: as they are)."""
    def move(obj: Any, device: int) -> Any:
        if isinstance(obj, list):
            return [move(o, device) for o in obj]
        if isinstance(obj, torch.Tensor):
            obj = obj.contiguous()
            return obj if device == -1 else obj.cuda(device, non_blocking=True)
        raise TypeError(f"a DataContainer to move to a device may hold tensors and lists of them, but got {type(obj)}")

    if isinstance(data, list):
        chunk = (len(data) - 1) // len(devices) + 1
        return tuple(move(item, devices[i // chunk]) for i, item in enumerate(data))
    return (move(data, devices[0]),)


def scatter(inputs: Any, target_gpus: list[int], dim: int = 0) -> list[Any]:
    """``inputs`` as one entry per device in ``target_gpus`` (``[-1]``: the CPU).

    Tensors are split along ``dim`` over the GPUs (kept as they are on the CPU); a DataContainer
    gives its per-GPU entries (moved unless ``cpu_only``); tuples, lists and dicts are scattered
    item by item; any other object is repeated for each device.

    Example:
        >>> scatter((torch.ones(2), DataContainer([torch.zeros(1)]), "x"), [-1])
        [(tensor([1., 1.]), tensor([0.]), 'x')]
    """

    def scatter_map(obj: Any) -> Any:
        if isinstance(obj, torch.Tensor):
            if target_gpus != [-1]:
                return TorchScatter.apply(target_gpus, None, dim, obj)
            return (obj.contiguous(),)
        if isinstance(obj, DataContainer):
            return obj.data if obj.cpu_only else _to_devices(obj.data, target_gpus)
        if isinstance(obj, tuple) and obj:
            return list(zip(*map(scatter_map, obj)))
        if isinstance(obj, list) and obj:
            return [list(x) for x in zip(*map(scatter_map, obj))]
        if isinstance(obj, dict) and obj:
            return [type(obj)(x) for x in zip(*map(scatter_map, obj.items()))]
        return [obj for _ in target_gpus]

    return scatter_map(inputs)  # type: ignore[no-any-return]


def scatter_kwargs(inputs: Any, kwargs: Any, target_gpus: list[int], dim: int = 0) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """``scatter`` of positional and keyword inputs, padded to the same number of entries."""
    scattered_inputs = scatter(inputs, target_gpus, dim) if inputs else []
    scattered_kwargs = scatter(kwargs, target_gpus, dim) if kwargs else []
    if len(scattered_inputs) < len(scattered_kwargs):
        scattered_inputs.extend(() for _ in range(len(scattered_kwargs) - len(scattered_inputs)))
    elif len(scattered_kwargs) < len(scattered_inputs):
        scattered_kwargs.extend({} for _ in range(len(scattered_inputs) - len(scattered_kwargs)))
    return tuple(scattered_inputs), tuple(scattered_kwargs)
