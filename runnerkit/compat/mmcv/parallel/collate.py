"""mmcv's ``collate``: PyTorch's ``default_collate`` that also batches :class:`DataContainer` fields."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data.dataloader import default_collate

from runnerkit.compat.mmcv.parallel.data_container import DataContainer

__all__ = ["collate"]


def collate(batch: Sequence[Any], samples_per_gpu: int = 1) -> Any:
    """Batch ``batch`` as mmcv does, in groups of ``samples_per_gpu`` (one group per GPU).

    A :class:`DataContainer` field becomes a DataContainer holding one entry per group: a list of
    the data (``cpu_only``, or ``stack=False``), or a tensor stacked from the group's tensors, padded
    with ``padding_value`` in the last ``pad_dims`` dimensions to the group's largest size.
    Sequences and mappings are collated field by field; anything else goes to ``default_collate``.

    Raises:
        TypeError: ``batch`` is not a sequence.
        ValueError: tensors to stack differ outside their last ``pad_dims`` dimensions.

    Example:
        >>> from runnerkit.compat.mmcv.parallel import DataContainer
        >>> batch = [dict(img=DataContainer(torch.zeros(3, 2, n), stack=True)) for n in (4, 5)]
        >>> collate(batch, samples_per_gpu=2)["img"].data[0].shape
        torch.Size([2, 3, 2, 5])
    """
    if not isinstance(batch, Sequence):
        raise TypeError(f"collate expects a sequence of samples, but got {type(batch).__name__}")
    first = batch[0]
    if isinstance(first, DataContainer):
        groups = [batch[i:i + samples_per_gpu] for i in range(0, len(batch), samples_per_gpu)]
        if first.cpu_only:
            return DataContainer([[s.data for s in g] for g in groups], first.stack, first.padding_value,
                                 cpu_only=True)
        if first.stack:
            return DataContainer([_stack(g) for g in groups], first.stack, first.padding_value)
        return DataContainer([[s.data for s in g] for g in groups], first.stack, first.padding_value)
    if isinstance(first, Sequence) and not isinstance(first, (str, bytes)):
        return [collate(samples, samples_per_gpu) for samples in zip(*batch)]
    if isinstance(first, Mapping):
        return {key: collate([d[key] for d in batch], samples_per_gpu) for key in first}
    return default_collate(batch)  # type: ignore[arg-type]


def _stack(group: Sequence[DataContainer]) -> torch.Tensor:
    """One group's tensors stacked, padded at the end of their last ``pad_dims`` dimensions."""
    head = group[0]
    if not isinstance(head.data, torch.Tensor):
        raise TypeError(f"a DataContainer with stack=True must hold a tensor, but got {head.datatype}")
    pad_dims = head.pad_dims
    if pad_dims is None:
        return default_collate([s.data for s in group])  # type: ignore[no-any-return]
    ndim = head.dim()
    if ndim <= pad_dims:
        raise ValueError(f"a {ndim}-d tensor cannot be padded in its last {pad_dims} dimensions; "
                         "lower pad_dims or pass pad_dims=None")
    fixed = ndim - pad_dims
    for sample in group:
        if sample.data.shape[:fixed] != head.data.shape[:fixed]:
            raise ValueError(f"tensors stacked with pad_dims={pad_dims} must agree in their first {fixed} "
                             f"dimensions, but got {tuple(head.data.shape)} and {tuple(sample.data.shape)}")
    largest = [max(s.data.size(-d) for s in group) for d in range(1, pad_dims + 1)]
    padded = []
    for sample in group:
        pad = []  # F.pad: (left, right) for the last dimension first
        for d in range(1, pad_dims + 1):
            pad += [0, largest[d - 1] - sample.data.size(-d)]
        padded.append(F.pad(sample.data, pad, value=sample.padding_value))
    return default_collate(padded)  # type: ignore[no-any-return]
