"""The results of an evaluation: running a model over a loader, averaging them, gathering them across ranks.

What :class:`~runnerkit.hooks.EvalHook` calls by default (mmcv 1.x's ``single_gpu_test`` and
``collect_results``), usable on their own::

    results = collect_results(single_process_test(model, loader), size=len(loader.dataset))
    metrics = average_log_vars(results)
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import torch
import torch.distributed as dist

from runnerkit.dist import unwrap_model
from runnerkit.log_buffer import LogBuffer

__all__ = ["average_log_vars", "collect_results", "single_process_test", "TestFn"]

#: ``test_fn(model, dataloader) -> results``.
TestFn = Callable[[torch.nn.Module, Iterable[Any]], Sequence[Any]]


def single_process_test(model: torch.nn.Module, data_loader: Iterable[Any]) -> list[Any]:
    """Run ``model.val_step(batch, None)`` over ``data_loader`` and return the outputs, in order.

    The model is put in eval mode under ``torch.no_grad()`` and its previous mode is restored
    afterwards. ``val_step`` is looked up on ``model.module`` for DDP/DataParallel wrappers.
    """
    step = getattr(model, "val_step", None) or getattr(unwrap_model(model), "val_step", None)
    if not callable(step):
        raise TypeError(
            f"EvalHook's default `test_fn` calls `model.val_step(data_batch, None)`, but the model "
            f"({type(unwrap_model(model)).__name__}) has no `val_step`; define it or pass `test_fn=`."
        )
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return [step(batch, None) for batch in data_loader]
    finally:
        model.train(was_training)


def average_log_vars(results: Sequence[Any]) -> dict[str, float]:
    """Average the ``log_vars`` of ``val_step`` outputs, weighted by their ``num_samples``.

    Tensors are read back to the host once, for all keys together.
    """
    buffer = LogBuffer()
    for i, out in enumerate(results):
        if not isinstance(out, Mapping) or not isinstance(out.get("log_vars"), Mapping):
            raise TypeError(
                f"Result {i} of the evaluation is {type(out).__name__}, not a dict with `log_vars`; without "
                "a `dataset.evaluate(results, logger=...)` the results must be `val_step` outputs "
                "(`dict(loss=..., log_vars=..., num_samples=...)`)."
            )
        buffer.update(out["log_vars"], int(out.get("num_samples", 1)))
    buffer.average()
    return dict(buffer.output)


def _to_host(obj: Any) -> Any:
    """``obj`` with every tensor in it (in dicts, lists and tuples) moved to the CPU, for pickling."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _to_host(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_to_host(v) for v in obj]
    if isinstance(obj, tuple):
        values = [_to_host(v) for v in obj]
        return type(obj)(*values) if hasattr(obj, "_fields") else tuple(values)
    return obj


def collect_results(part: Sequence[Any], size: int | None = None) -> list[Any]:
    """Gather every rank's results to all ranks, in the order a ``DistributedSampler`` dealt them.

    Rank ``r`` holds items ``r, r + world_size, ...``; they are interleaved back (mmcv
    ``collect_results``) and cut to ``size`` (dropping the sampler's padding). Uses
    ``all_gather_object``, which works with every backend (gloo on CPU, nccl with the current
    device set). Without torch.distributed the results are returned as they are.
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return list(part)[:size] if size is not None else list(part)
    parts: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(parts, _to_host(list(part)))
    missing = object()
    ordered = [item for row in itertools.zip_longest(*parts, fillvalue=missing) for item in row if item is not missing]
    return ordered[:size] if size is not None else ordered
