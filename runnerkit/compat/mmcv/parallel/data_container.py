"""mmcv's ``DataContainer``: a sample field that ``collate`` stacks, pads or keeps as a list, and
``scatter`` moves to the device or leaves on the CPU."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import torch

__all__ = ["DataContainer", "assert_tensor_type"]

_F = TypeVar("_F", bound=Callable[..., Any])


def assert_tensor_type(func: _F) -> _F:
    """Decorator for a ``DataContainer`` method that needs a tensor: AttributeError for other data (mmcv)."""

    @functools.wraps(func)
    def wrapper(self: DataContainer, *args: Any, **kwargs: Any) -> Any:
        self._tensor(func.__name__)
        return func(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class DataContainer:
    """Wraps one field of a sample and says how batches of it are formed.

    Args:
        data: the field (a tensor, an array, or any object).
        stack: ``collate`` stacks the tensors of a batch (padding the last ``pad_dims`` dimensions
            with ``padding_value`` to the largest size), else keeps them as a list.
        padding_value: the value padded with.
        cpu_only: the field stays on the CPU (image metas); it is never moved or stacked.
        pad_dims: how many trailing dimensions may differ between samples (None, 1, 2 or 3).

    Example:
        >>> dc = DataContainer(torch.zeros(3, 4, 5), stack=True)
        >>> dc.size(), dc.dim()
        (torch.Size([3, 4, 5]), 3)
    """

    def __init__(self, data: Any, stack: bool = False, padding_value: int = 0, cpu_only: bool = False,
                 pad_dims: int | None = 2) -> None:
        if pad_dims not in (None, 1, 2, 3):
            raise ValueError(f"pad_dims must be None, 1, 2 or 3, but got {pad_dims!r}")
        self._data = data
        self._cpu_only = cpu_only
        self._stack = stack
        self._padding_value = padding_value
        self._pad_dims = pad_dims

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.data!r})"

    def __len__(self) -> int:
        return len(self._data)

    @property
    def data(self) -> Any:
        return self._data

    @property
    def datatype(self) -> type | str:
        """The tensor type (``"torch.FloatTensor"``) for a tensor, else the data's type."""
        return self._data.type() if isinstance(self._data, torch.Tensor) else type(self._data)

    @property
    def cpu_only(self) -> bool:
        return self._cpu_only

    @property
    def stack(self) -> bool:
        return self._stack

    @property
    def padding_value(self) -> int:
        return self._padding_value

    @property
    def pad_dims(self) -> int | None:
        return self._pad_dims

    def _tensor(self, name: str) -> torch.Tensor:
        if not isinstance(self._data, torch.Tensor):
            raise AttributeError(f"{type(self).__name__} has no attribute {name} for type {self.datatype}")
        return self._data

    def size(self, *args: Any, **kwargs: Any) -> Any:
        """The wrapped tensor's ``size`` (AttributeError for other data)."""
        return self._tensor("size").size(*args, **kwargs)

    def dim(self) -> int:
        """The wrapped tensor's number of dimensions (AttributeError for other data)."""
        return self._tensor("dim").dim()
