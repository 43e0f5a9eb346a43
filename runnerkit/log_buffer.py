"""``LogBuffer``: collects ``log_vars`` without reading tensors back to the host.

Values may be Python numbers (mmcv-era models) or tensors. Tensors stay tensors (on their
device) until :meth:`LogBuffer.average` is called at a log interval, which reads every average
back in one transfer.
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import Callable, Mapping
from typing import Any

import torch

from runnerkit import dist

__all__ = ["HISTORY", "LogBuffer"]


#: how many values per key are kept for ``average(n)``.
HISTORY = 10_000


class LogBuffer:
    """mmcv's log buffer: ``update`` every iteration, ``average(n)`` at log intervals.

    Args:
        across_ranks: under torch.distributed with several ranks, :meth:`average` also averages
            over the ranks (a collective every rank must join). The runner's buffer does; a
            buffer one rank uses alone (e.g. over already-gathered results) must not.
    """

    def __init__(self, across_ranks: bool = False) -> None:
        self.across_ranks = across_ranks
        self.val_history: dict[str, collections.deque[Any]] = {}
        self.n_history: dict[str, collections.deque[int]] = {}
        self.output: dict[str, Any] = {}
        self.ready = False
        #: called as ``after_average(output, n)`` once :meth:`average` has read the values back (the
        #: runner's non-finite loss guard); never per update.
        self.after_average: Callable[[dict[str, Any], int], None] | None = None
        #: called before :meth:`clear` forgets the history (the guard checks what was never averaged).
        self.before_clear: Callable[[], None] | None = None

    def clear(self) -> None:
        """Forget the history and the output (the histories of :meth:`series` are emptied in place)."""
        if self.before_clear is not None and any(self.val_history.values()):
            self.before_clear()
        for values in self.val_history.values():
            values.clear()
        for counts in self.n_history.values():
            counts.clear()
        self.clear_output()

    def clear_output(self) -> None:
        """Forget the last averaged output."""
        self.output.clear()
        self.ready = False

    def update(self, vars: Mapping[str, Any], count: int = 1) -> None:
        """Record one value per key, weighted by ``count`` (the batch size). Never syncs."""
        val_history = self.val_history
        for key, value in vars.items():
            cls = value.__class__
            if cls is torch.Tensor:  # the usual loss tensor: an attribute read, no getattr call
                if value.requires_grad:
                    value = value.detach()  # never keep an autograd graph alive
            elif cls is not float and getattr(value, "requires_grad", False):
                value = value.detach()
            values = val_history.get(key)
            if values is None:
                values = self.series(key)[0]
            values.append(value)
            self.n_history[key].append(count)

    def series(self, key: str) -> tuple[collections.deque[Any], collections.deque[int]]:
        """The value and count histories of ``key`` (created empty), for a writer that appends itself.

        They stay the buffer's own for its whole life (:meth:`clear` empties them in place); append
        one value and its count to each, together.
        """
        values = self.val_history.get(key)
        if values is None:
            values = self.val_history[key] = collections.deque(maxlen=HISTORY)
            self.n_history[key] = collections.deque(maxlen=HISTORY)
        return values, self.n_history[key]

    def average(self, n: int = 0) -> None:
        """Average the latest ``n`` values of every key (all when ``n`` is 0) into ``output``.

        All tensor averages are read back to the host in a single transfer. With
        ``across_ranks`` under torch.distributed with several ranks, every key's average (numbers
        included) is then averaged over the ranks in one collective, so every rank must call
        ``average`` at the same iterations with the same keys (as the logger hooks do at their
        intervals).
        """
        pending: dict[str, torch.Tensor] = {}
        numbers: dict[str, float] = {}
        for key, values in self.val_history.items():
            if not values:
                continue
            vals = _latest(values, n)
            counts = _latest(self.n_history[key], n)
            total = max(sum(counts), 1)
            first = vals[0].__class__
            uniform = counts.count(counts[0]) == len(counts)
            if first is float and uniform and len(set(map(type, vals))) == 1:
                numbers[key] = sum(vals) / len(vals)  # the usual timer values: no tensor work
            elif any(isinstance(v, torch.Tensor) for v in vals):
                pending[key] = _weighted_mean(vals, counts, total)
            else:
                numbers[key] = sum(float(v) * c for v, c in zip(vals, counts)) / total
        if self.across_ranks and dist.is_distributed():
            self._average_over_ranks(pending, numbers, dist.collective_device())
        else:
            self.output.update(numbers)
            if len(pending) == 1:  # the usual single loss: its mean read back as it is
                ((key, mean),) = pending.items()
                self.output[key] = mean.item()
            elif pending:
                keys = list(pending)
                host = torch.stack([pending[k].to(_first_device(pending)) for k in keys]).cpu().tolist()
                self.output.update(zip(keys, host))
            self.ready = True
        if self.after_average is not None:
            self.after_average(self.output, n)

    def _average_over_ranks(self, pending: dict[str, torch.Tensor], numbers: dict[str, float], device: torch.device) -> None:
        """The mean over ranks of every key's average: one all-reduce, one read-back."""
        keys = sorted({*pending, *numbers})  # the same order on every rank
        vector = torch.tensor([numbers.get(k, 0.0) for k in keys], dtype=torch.float64, device=device)
        for i, key in enumerate(keys):
            if key in pending:
                vector[i] = pending[key].to(device=device, dtype=torch.float64)
        dist.all_reduce_mean(vector)
        means = dict(zip(keys, vector.cpu().tolist()))
        self.output.update((k, means[k]) for k in self.val_history if k in means)  # the keys' first-logged order
        self.ready = True


def _latest(values: collections.deque[Any], n: int) -> list[Any]:
    """The last ``n`` items (all when ``n`` is 0), without copying the whole history."""
    if not n or n >= len(values):
        return list(values)
    latest = list(itertools.islice(reversed(values), n))
    latest.reverse()
    return latest


def _weighted_mean(vals: list[Any], counts: list[int], total: int) -> torch.Tensor:
    """The count-weighted mean of scalar tensors (and numbers), as a tensor on their device."""
    device = _device(vals)
    try:  # one op for the usual case: 0-dim tensors on one device
        stacked = torch.stack(vals).float()
        if stacked.dim() != 1 or stacked.device != device:
            raise RuntimeError
    except (RuntimeError, TypeError):
        stacked = torch.stack([torch.as_tensor(v).float().reshape(()).to(device) for v in vals])
    if counts.count(counts[0]) == len(counts):
        return stacked.mean()
    weights = torch.tensor(counts, dtype=stacked.dtype).to(device, non_blocking=True)
    return (stacked * weights).sum() / total


def _device(values: list[Any]) -> torch.device:
    for v in values:
        if isinstance(v, torch.Tensor):
            return v.device
    return torch.device("cpu")


def _first_device(tensors: dict[str, torch.Tensor]) -> torch.device:
    return next(iter(tensors.values())).device
