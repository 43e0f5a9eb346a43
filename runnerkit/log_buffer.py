"""``LogBuffer``: collects ``log_vars`` without reading tensors back to the host.

Values may be Python numbers (mmcv-era models) or tensors. Tensors stay tensors (on their
device) until :meth:`LogBuffer.average` is called at a log interval, which reads them back in
one transfer and keeps their values, as Python floats, in place of the tensors: between two log
lines the buffer holds one interval's tensors, never an epoch's.
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor  # not `torch.Tensor` in update: CPython 3.11 does not specialize reads on torch

from runnerkit import dist

__all__ = ["HISTORY", "UNREAD", "LogBuffer"]


#: how many values per key are kept for ``average(n)``.
HISTORY = 10_000
#: how many tensors the buffer holds unread before it reads them all back at once (a run that
#: never averages, e.g. without a logger hook, holds no more than this many on the device). Kept
#: small: a thousand loss tensors outgrow glibc's trim threshold, and the heap then shrinks and
#: grows back every cycle, a page fault every third iteration (+1.5 % on the benchmark's loop).
UNREAD = 200


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
        self._unread = 0  # tensors in the histories not yet read back
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
        self._unread = 0
        self.clear_output()

    def clear_output(self) -> None:
        """Forget the last averaged output."""
        self.output.clear()
        self.ready = False

    def update(self, vars: Mapping[str, Any], count: int = 1) -> None:
        """Record one value per key, weighted by ``count`` (the batch size).

        Never syncs, except that every :data:`UNREAD` tensors not yet averaged are read back
        together (one transfer), so a run that never averages does not pile tensors up.
        """
        val_history = self.val_history
        for key, value in vars.items():
            cls = value.__class__
            if cls is Tensor:  # the usual loss tensor: an attribute read, no getattr call
                if value.requires_grad:
                    value = value.detach()  # never keep an autograd graph alive
                self._unread += 1
            elif cls is not float and isinstance(value, Tensor):
                value = value.detach()
                self._unread += 1
            values = val_history.get(key)
            if values is None:
                values = self.series(key)[0]
            values.append(value)
            self.n_history[key].append(count)
        if self._unread >= UNREAD:
            self._read_unread()

    def _read_unread(self) -> None:
        """Read back every tensor not yet averaged (each is among the last ``_unread`` values of its key)."""
        self._to_host({key: (_latest(values, self._unread), []) for key, values in self.val_history.items()})

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

        The tensors among those values are read back to the host in a single transfer and
        replaced in the history by the Python numbers they hold, so the buffer never keeps more
        than one log interval of tensors alive (no device memory piles up over an epoch). With
        ``across_ranks`` under torch.distributed with several ranks, every key's average is then
        averaged over the ranks in one collective, so every rank must call ``average`` at the
        same iterations with the same keys (as the logger hooks do at their intervals).
        """
        windows = {key: (_latest(values, n), _latest(self.n_history[key], n))
                   for key, values in self.val_history.items() if values}
        self._to_host(windows)
        means: dict[str, float] = {}
        for key, (vals, counts) in windows.items():
            if counts.count(counts[0]) == len(counts):
                means[key] = float(sum(vals) / len(vals))  # the usual case: every value counts once
            else:  # float(): numpy scalars and the like become plain floats
                means[key] = float(sum(v * c for v, c in zip(vals, counts)) / max(sum(counts), 1))
        if self.across_ranks and dist.is_distributed():
            self._average_over_ranks(means, dist.collective_device())
        else:
            self.output.update(means)
            self.ready = True
        if self.after_average is not None:
            self.after_average(self.output, n)

    def _to_host(self, windows: dict[str, tuple[list[Any], list[int]]]) -> None:
        """Replace the tensors in every window (the latest values of a key) and in the history by their values.

        One read-back for all of them. A window's types are scanned in C (``set(map(type, ...))``),
        so windows of numbers (the timer's) cost next to nothing and windows of tensors (the
        losses) are replaced whole.
        """
        found: list[tuple[str, list[Any], list[int] | None]] = []  # key, window, tensor positions (None: all)
        tensors: list[torch.Tensor] = []
        for key, (vals, _) in windows.items():
            kinds = set(map(type, vals))
            if kinds == {torch.Tensor}:
                found.append((key, vals, None))
                tensors += vals
            elif any(issubclass(kind, torch.Tensor) for kind in kinds):
                where = [i for i, v in enumerate(vals) if isinstance(v, torch.Tensor)]
                found.append((key, vals, where))
                tensors += [vals[i] for i in where]
        if not tensors:
            return
        try:  # one op for the usual case: scalar tensors of one shape on one device
            stacked = torch.stack(tensors)
        except RuntimeError:  # mixed shapes or devices
            _check_scalars(found)
            stacked = torch.stack([v.reshape(()).to(tensors[0].device) for v in tensors])
        if stacked.numel() != len(tensors):
            _check_scalars(found)
        if stacked.dtype not in (torch.float32, torch.float64):  # half, bfloat16, integers, bools
            stacked = stacked.float()
        host = iter(stacked.reshape(-1).tolist())
        for key, vals, positions in found:
            history = self.val_history[key]
            if positions is None:  # the window is the history's tail: swap it whole
                vals[:] = itertools.islice(host, len(vals))
                for _ in vals:
                    history.pop()
                history.extend(vals)
            else:
                offset = len(history) - len(vals)
                for i in positions:
                    vals[i] = history[offset + i] = next(host)
        self._unread = max(self._unread - len(tensors), 0)

    def _average_over_ranks(self, means: dict[str, float], device: torch.device) -> None:
        """The mean over ranks of every key's average: one all-reduce, one read-back."""
        keys = sorted(means)  # the same order on every rank
        vector = torch.tensor([means[k] for k in keys], dtype=torch.float64, device=device)
        dist.all_reduce_mean(vector)
        over_ranks = dict(zip(keys, vector.cpu().tolist()))
        self.output.update((k, over_ranks[k]) for k in self.val_history if k in over_ranks)  # first-logged order
        self.ready = True


def _check_scalars(found: list[tuple[str, list[Any], list[int] | None]]) -> None:
    for key, vals, where in found:
        for value in (vals if where is None else [vals[i] for i in where]):
            if value.numel() != 1:
                raise ValueError(f"`log_vars[{key!r}]` must be a scalar (a number or a one-element tensor), got a "
                                 f"tensor of shape {tuple(value.shape)}; reduce it (e.g. `.mean()`) in `train_step`.")


def _latest(values: collections.deque[Any], n: int) -> list[Any]:
    """The last ``n`` items (all when ``n`` is 0), without copying the whole history."""
    if not n or n >= len(values):
        return list(values)
    latest = list(itertools.islice(reversed(values), n))
    latest.reverse()
    return latest
