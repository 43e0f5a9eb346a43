"""Data-parallel training under ``torchrun``: what ``runnerkit run CONFIG --launcher torchrun`` does.

Given a built model and its data loaders, :func:`launch` wraps the model in
``torch.nn.parallel.DistributedDataParallel`` and gives every loader a ``DistributedSampler``, so
that each rank trains on its own share of every epoch and the gradients are averaged over ranks.
:func:`prepare_runner` then adds what a runner needs (a ``DistSamplerSeedHook`` and quiet logging
on ranks other than 0). From Python, under ``torchrun``::

    from runnerkit import dist, launch

    dist.init_dist()                                    # gloo on CPU, nccl on GPU
    model, (train_loader,) = launch.launch(model, [train_loader], seed=0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    runner = runnerkit.build(dict(type="IterBasedRunner", max_iters=1000),
                             default_args=dict(model=model, optimizer=optimizer, work_dir="w"))
    launch.prepare_runner(runner)
    runner.register_training_hooks(...)
    runner.run([train_loader], [("train", 1)])

The runner sees the wrapper: ``train_step`` runs through DDP's forward, so that the gradient
all-reduce fires (see :meth:`runnerkit.BaseRunner.run_iter`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import torch
import torch.distributed as torch_dist
from torch.nn.parallel import DistributedDataParallel

from runnerkit import dist
from runnerkit.dist import DistributedError

__all__ = [
    "distributed_loader", "distributed_session", "is_collective_failure", "join_launcher", "launch", "prepare_runner",
    "quiet_other_ranks", "wrap_model",
]


# -- the model ---------------------------------------------------------------------------------


def wrap_model(model: torch.nn.Module, **ddp_kwargs: Any) -> DistributedDataParallel:
    """``model`` in ``DistributedDataParallel`` (returned as it is when it already is one).

    With the nccl backend the model first moves to this rank's GPU (``cuda:LOCAL_RANK``, set by
    :func:`runnerkit.dist.init_dist`) and ``device_ids`` names it; DDP then also moves each
    batch's tensors there. On CPU (gloo) ``device_ids`` stays None.

    Args:
        model: the model (with ``train_step``).
        **ddp_kwargs: passed to ``DistributedDataParallel`` (``find_unused_parameters``,
            ``broadcast_buffers``, ``bucket_cap_mb``, ...).

    Raises:
        DistributedError: torch.distributed is not initialised.
    """
    if isinstance(model, DistributedDataParallel):
        return model
    if not (torch_dist.is_available() and torch_dist.is_initialized()):
        raise DistributedError(
            "`wrap_model` needs an initialised process group: call `runnerkit.dist.init_dist()` first, in a process "
            "started by `torchrun`."
        )
    device = dist.collective_device()
    if device.type == "cuda":
        if any(p.device != device for p in model.parameters()):
            model = model.to(device)
        ddp_kwargs.setdefault("device_ids", [device.index])
        ddp_kwargs.setdefault("output_device", device.index)
    return DistributedDataParallel(model, **ddp_kwargs)


# -- the data --------------------------------------------------------------------------------


def distributed_loader(
    loader: Any,
    *,
    seed: int | None = None,
    num_replicas: int | None = None,
    rank: int | None = None,
) -> Any:
    """``loader`` with a ``DistributedSampler``: rank ``r`` of ``n`` gets items ``r, r + n, ...`` of each epoch.

    A ``torch.utils.data.DataLoader`` with a plain sampler (``shuffle=True`` or ``False``) is
    rebuilt with the same arguments and a ``DistributedSampler`` that shuffles when the original
    did, with seed ``seed`` (the same on every rank; the runner calls ``set_epoch`` each epoch for a
    new order). A loader whose sampler already has ``set_epoch`` (a ``DistributedSampler``) is
    returned as it is. Anything else (an ``IterableDataset``, a custom sampler, a list of batches)
    is returned as it is with a warning: it is not split between ranks.

    Args:
        loader: the loader.
        seed: the shuffling seed (default 0).
        num_replicas: how many ranks share the data (default: the process group's world size).
        rank: which share this loader gets (default: this process's rank).
    """
    from torch.utils.data import (
        BatchSampler,
        DataLoader,
        DistributedSampler,
        IterableDataset,
        RandomSampler,
        SequentialSampler,
    )

    from runnerkit.hooks.sampler_seed import find_epoch_sampler

    if find_epoch_sampler(loader) is not None:
        return loader
    what = type(loader).__name__
    if type(loader) is not DataLoader:
        _not_split(f"a `{what}`, not a `torch.utils.data.DataLoader`")
        return loader
    if isinstance(loader.dataset, IterableDataset):
        _not_split(f"a DataLoader over an `IterableDataset` (`{type(loader.dataset).__name__}`), which must shard itself by rank")
        return loader
    sampler = loader.sampler
    plain_random = type(sampler) is RandomSampler and not sampler.replacement and sampler._num_samples is None
    if type(loader.batch_sampler) is not BatchSampler or not (plain_random or type(sampler) is SequentialSampler):
        _not_split(f"a DataLoader with the custom sampler `{type(sampler).__name__}` "
                   f"(batch sampler `{type(loader.batch_sampler).__name__}`)")
        return loader
    me, world = dist.get_dist_info()
    dist_sampler: DistributedSampler[Any] = DistributedSampler(
        loader.dataset,
        num_replicas=num_replicas if num_replicas is not None else world,
        rank=rank if rank is not None else me,
        shuffle=plain_random,
        seed=seed if seed is not None else 0,
    )
    args: dict[str, Any] = {
        "batch_size": loader.batch_size,
        "drop_last": loader.drop_last,
        "num_workers": loader.num_workers,
        "collate_fn": loader.collate_fn,
        "pin_memory": loader.pin_memory,
        "timeout": loader.timeout,
        "worker_init_fn": loader.worker_init_fn,
        "multiprocessing_context": loader.multiprocessing_context,
        "generator": loader.generator,
        "persistent_workers": loader.persistent_workers,
        "pin_memory_device": loader.pin_memory_device,
    }
    if loader.num_workers > 0:
        args["prefetch_factor"] = loader.prefetch_factor
    if hasattr(loader, "in_order"):
        args["in_order"] = loader.in_order
    return DataLoader(loader.dataset, sampler=dist_sampler, **args)


def _not_split(what: str) -> None:
    warnings.warn(
        f"runnerkit cannot give {what} a `DistributedSampler`, so every rank iterates all of it. Give it a "
        "sampler that splits the data by rank (`torch.utils.data.DistributedSampler`) if that is not intended.",
        RuntimeWarning,
        stacklevel=3,
    )


def launch(
    model: torch.nn.Module,
    data_loaders: Sequence[Any],
    *,
    seed: int | None = None,
    **ddp_kwargs: Any,
) -> tuple[DistributedDataParallel, list[Any]]:
    """:func:`wrap_model` and :func:`distributed_loader` for every loader, in one call.

    Build the optimizer before (from the bare model, as ``build_optimizers`` does) or after (the
    wrapper's ``parameters()`` are the same tensors); either way its state is shared by nothing.

    Args:
        model: the built model.
        data_loaders: one loader per workflow phase.
        seed: the ``DistributedSampler`` seed (the config's ``seed``; default 0).
        **ddp_kwargs: passed to ``DistributedDataParallel``.
    """
    return wrap_model(model, **ddp_kwargs), [distributed_loader(loader, seed=seed) for loader in data_loaders]


# -- the runner --------------------------------------------------------------------------------


class _RankZeroOnly(logging.Filter):
    """Drops a logger's records below WARNING on ranks other than 0 (as mmcv's ``get_logger``)."""

    def __init__(self, rank: int) -> None:
        super().__init__()
        self.rank = rank

    def filter(self, record: logging.LogRecord) -> bool:
        return self.rank == 0 or record.levelno >= logging.WARNING


def quiet_other_ranks(logger: logging.Logger, rank: int | None = None) -> None:
    """Let ``logger`` print INFO (training progress) on rank 0 only; warnings and errors on every rank."""
    rank = dist.get_dist_info()[0] if rank is None else rank
    if not any(isinstance(f, _RankZeroOnly) for f in logger.filters):
        logger.addFilter(_RankZeroOnly(rank))


def prepare_runner(runner: Any) -> None:
    """Make a runner ready for distributed training: a ``DistSamplerSeedHook`` (if it has none) and
    INFO logging on rank 0 only. Checkpoints, the JSON log and the progress bar are rank 0's already.
    """
    from runnerkit.hooks.sampler_seed import DistSamplerSeedHook

    if not any(isinstance(hook, DistSamplerSeedHook) for hook in runner.hooks):
        runner.register_hook(DistSamplerSeedHook())
    quiet_other_ranks(runner.logger, runner.rank)


# -- the process group ---------------------------------------------------------------------------


def join_launcher(launcher: str, dist_params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Make this process ready to join the job ``launcher`` started; the ``dist_params`` left for :func:`distributed_session`.

    ``torchrun`` (or mmcv's ``pytorch``) set the environment already. For ``slurm`` and ``mpi`` the
    scheduler's variables are mapped onto torchrun's in ``os.environ``
    (:func:`runnerkit.schedulers.export_scheduler_env`); mmcv's ``dist_params=dict(port=...)`` is then
    the ``MASTER_PORT`` unless the environment sets one.

    Raises:
        DistributedError: as :func:`runnerkit.schedulers.scheduler_env`, or ``port`` is not a port number.
    """
    params = dict(dist_params or {})
    if launcher not in ("slurm", "mpi"):
        return params
    from runnerkit.schedulers import export_scheduler_env

    port = params.pop("port", None)
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536):
        raise DistributedError(f"`dist_params.port` must be a port number (1-65535), got `{port!r}`.")
    export_scheduler_env(launcher, port=port)
    return params


@contextlib.contextmanager
def distributed_session(dist_params: Mapping[str, Any] | None = None, work_dir: str | None = None) -> Iterator[tuple[int, int]]:
    """Initialise the process group for the block, then wait for every rank and tear it down.

    The backend and timeout come from ``RUNNERKIT_DIST_BACKEND``/``RUNNERKIT_DIST_TIMEOUT``, else
    from ``dist_params`` (mmcv configs' ``dist_params=dict(backend="nccl", timeout=600)``), else
    the defaults of :func:`runnerkit.dist.init_dist`. A collective that fails inside the block (a
    rank died, raised or timed out) becomes a :class:`~runnerkit.dist.DistributedError` that says
    so and names the last complete checkpoint in ``work_dir``.
    """
    params = dict(dist_params or {})
    torchrun_owned = sorted(set(params) & {"port", "init_method"})
    if torchrun_owned:
        raise DistributedError(
            f"`dist_params` sets {', '.join(f'`{k}`' for k in torchrun_owned)}, which torchrun decides: the processes "
            "meet at torchrun's `--master_addr`/`--master_port` (`MASTER_ADDR`/`MASTER_PORT`). Remove "
            f"{'it' if len(torchrun_owned) == 1 else 'them'} from `dist_params` and give the port to torchrun."
        )
    unknown = set(params) - {"backend", "timeout"}
    if unknown:
        raise DistributedError(
            f"`dist_params` has unknown keys {sorted(unknown)}; it takes `backend` and `timeout` (seconds)."
        )
    backend = os.environ.get(dist.BACKEND_ENV, "").strip() or params.get("backend")
    timeout = None if os.environ.get(dist.TIMEOUT_ENV, "").strip() else params.get("timeout")
    timeout_s = dist.resolve_timeout(timeout).total_seconds()
    rank, world_size = dist.init_dist(backend=backend, timeout=timeout_s)
    try:
        yield rank, world_size
        dist.barrier()  # rank 0 may still be writing the last checkpoint
    except Exception as err:
        if not is_collective_failure(err):
            raise
        raise DistributedError(_lost_message(err, rank, world_size, timeout_s, work_dir), rank=rank) from err
    else:
        dist.destroy_dist()


def is_collective_failure(err: BaseException) -> bool:
    """Whether ``err`` is a collective or connection failure between ranks (not a bug in one rank's code)."""
    if isinstance(err, DistributedError):
        return False
    if isinstance(err, getattr(torch_dist, "DistError", ())):
        return True
    if not isinstance(err, RuntimeError):
        return False
    text = str(err)
    return any(marker in text for marker in ("gloo", "Gloo", "NCCL", "nccl", "Connection closed", "Connection reset",
                                             "Timed out", "timed out", "Broken pipe"))


def _lost_message(err: BaseException, rank: int, world_size: int, timeout_s: float, work_dir: str | None) -> str:
    from runnerkit.checkpoint import find_latest

    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    latest = find_latest(work_dir) if work_dir and os.path.isdir(work_dir) else None
    where = (f"The last complete checkpoint is `{os.path.abspath(latest)}`; continue with `resume=True` (config key `resume`)." if latest
             else "No checkpoint was written yet.")
    return (
        f"Rank {rank} of {world_size} lost the other ranks: a collective operation failed ({first}). Another rank "
        f"has probably died, raised an error (see its output) or stopped responding for longer than the "
        f"{timeout_s:g} s timeout (`{dist.TIMEOUT_ENV}` or `dist_params=dict(timeout=...)` sets it). {where}"
    )
