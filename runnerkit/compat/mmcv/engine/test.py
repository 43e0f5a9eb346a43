"""mmcv 1.x's test loops: ``single_gpu_test``, ``multi_gpu_test`` and ``collect_results_cpu``/``_gpu``."""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from typing import Any

import torch
import torch.distributed as dist

from runnerkit import dist as dist_utils
from runnerkit.hooks.eval_results import collect_results

__all__ = ["collect_results_cpu", "collect_results_gpu", "multi_gpu_test", "single_gpu_test"]


def _batch_results(result: Any) -> list[Any]:
    return list(result) if isinstance(result, (list, tuple)) else [result]


def single_gpu_test(model: torch.nn.Module, data_loader: Iterable[Any]) -> list[Any]:
    """``model(return_loss=False, **data)`` over ``data_loader``, one result per sample, in order (mmcv).

    The model is put in eval mode under ``torch.no_grad()`` (and back in its previous mode after).
    A batch's result is a list with one item per sample; a single object counts as one.
    """
    was_training = model.training
    model.eval()
    results: list[Any] = []
    try:
        with torch.no_grad():
            for data in data_loader:
                results.extend(_batch_results(model(return_loss=False, **data)))
    finally:
        model.train(was_training)
    return results


def multi_gpu_test(model: torch.nn.Module, data_loader: Any, tmpdir: str | None = None, gpu_collect: bool = False) -> list[Any] | None:
    """Every rank tests its part (a ``DistributedSampler``); rank 0 returns all results in dataset order.

    ``gpu_collect`` gathers through torch.distributed; otherwise through files in ``tmpdir``
    (a shared folder). Other ranks return None, as in mmcv.
    """
    part = single_gpu_test(model, data_loader)
    size = len(data_loader.dataset)
    if gpu_collect:
        return collect_results_gpu(part, size)
    return collect_results_cpu(part, size, tmpdir)


def _interleave(parts: Sequence[Sequence[Any]], size: int) -> list[Any]:
    missing = object()
    ordered: list[Any] = []
    for i in range(max((len(p) for p in parts), default=0)):
        ordered.extend(p[i] if i < len(p) else missing for p in parts)
    return [r for r in ordered if r is not missing][:size]


def collect_results_cpu(result_part: Sequence[Any], size: int, tmpdir: str | None = None) -> list[Any] | None:
    """Gather every rank's results on rank 0 through pickle files in ``tmpdir`` (interleaved, cut to ``size``).

    Without ``tmpdir`` rank 0 makes a temporary folder and tells the others its name (it must
    be on a file system all ranks share, e.g. on one machine). Other ranks return None.
    """
    rank, world_size = dist_utils.get_dist_info()
    if world_size == 1:
        return list(result_part)[:size]
    if tmpdir is None:
        tmpdir = dist_utils.broadcast_object(tempfile.mkdtemp(prefix=".dist_test_") if rank == 0 else None)
    assert tmpdir is not None
    os.makedirs(tmpdir, exist_ok=True)
    with open(os.path.join(tmpdir, f"part_{rank}.pkl"), "wb") as fh:
        pickle.dump(list(result_part), fh)
    dist.barrier()
    if rank != 0:
        return None
    parts = []
    for i in range(world_size):
        with open(os.path.join(tmpdir, f"part_{i}.pkl"), "rb") as fh:
            parts.append(pickle.load(fh))  # written by this job's own ranks just now
    shutil.rmtree(tmpdir, ignore_errors=True)
    return _interleave(parts, size)


def collect_results_gpu(result_part: Sequence[Any], size: int) -> list[Any] | None:
    """Gather every rank's results on rank 0 through torch.distributed (other ranks return None)."""
    results = collect_results(result_part, size)
    return results if dist_utils.get_dist_info()[0] == 0 else None
