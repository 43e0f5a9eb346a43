"""Saving checkpoints in the background (``checkpoint_config=dict(async_save=True)``).

The training thread takes a snapshot (real copies of every tensor, never views of live ones) and
hands the write to one background thread; the write ends with ``fsync`` and a rename, and only then
does ``last_checkpoint`` move. At most one save is in flight: the next save, a save on a signal,
and the end of ``run`` wait for it first (:func:`wait_pending`). An error in the background is
raised by the next wait, in the training thread.

Sharded checkpoints use ``torch.distributed.checkpoint.async_save`` on a gloo group of their own
(:func:`dcp_group`): on the default gloo group its background collectives would interleave with
training's and crash the next all-gather.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any

import torch

__all__ = ["dcp_group", "pending", "snapshot", "submit", "wait_pending"]

_lock = threading.Lock()
_executor: concurrent.futures.ThreadPoolExecutor | None = None
_pending: concurrent.futures.Future[Any] | None = None
_groups: dict[int, Any] = {}


def snapshot(state: Any) -> Any:
    """A deep copy of a (nested) state with every tensor cloned onto the CPU (no view of a live tensor)."""
    if isinstance(state, torch.Tensor):
        copy = state.detach().to("cpu", copy=True)
        return copy
    if isinstance(state, dict):
        out = type(state)((k, snapshot(v)) for k, v in state.items())
        if hasattr(state, "_metadata"):
            out._metadata = state._metadata  # type: ignore[attr-defined]
        return out
    if isinstance(state, list):
        return [snapshot(v) for v in state]
    if isinstance(state, tuple):
        return tuple(snapshot(v) for v in state)
    return state


def wait_pending() -> None:
    """Wait for the save in flight (if any); re-raise its error here."""
    global _pending
    with _lock:
        future, _pending = _pending, None
    if future is not None:
        future.result()


def pending() -> bool:
    """Whether a save is in flight."""
    with _lock:
        return _pending is not None and not _pending.done()


def submit(write: Callable[[], Any]) -> concurrent.futures.Future[Any]:
    """Run ``write`` in the background after the previous save finished; return its future."""
    global _executor, _pending
    wait_pending()
    with _lock:
        if _executor is None:
            _executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="runnerkit-save")
        _pending = _executor.submit(write)
        return _pending


def dcp_group() -> Any:
    """A gloo process group for background DCP saves (created once per default group; a collective)."""
    import torch.distributed as torch_dist
    from torch.distributed import distributed_c10d

    default = distributed_c10d._get_default_group()
    group = _groups.get(id(default))
    if group is None:
        group = torch_dist.new_group(backend="gloo")
        _groups.clear()
        _groups[id(default)] = group
    return group
