"""torch.distributed helpers: set-up from torchrun's environment, rank info and small collectives.

Every helper is a no-op (or the identity) when torch.distributed is not initialised, so the
same code runs in one process and under ``torchrun``::

    from runnerkit import dist

    dist.init_dist()                  # under torchrun: gloo on CPU, nccl on GPU
    rank, world_size = dist.get_dist_info()
    dist.barrier()                    # every rank waits here
    dist.all_reduce_mean(tensor)      # in place: the mean over ranks
    dist.destroy_dist()

Environment variables: ``RUNNERKIT_DIST_BACKEND`` picks the backend (``gloo``, ``nccl``, ...)
and ``RUNNERKIT_DIST_TIMEOUT`` the collective timeout in seconds (default 1800): a rank that
waits longer than that for another rank fails with an error instead of hanging.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import os
import time
import uuid
from typing import Any

import torch
import torch.distributed as dist

from runnerkit._errors import RunnerkitError

#: environment variable that overrides the backend ``init_dist`` picks.
BACKEND_ENV = "RUNNERKIT_DIST_BACKEND"
#: environment variable with the collective timeout in seconds.
TIMEOUT_ENV = "RUNNERKIT_DIST_TIMEOUT"
#: the collective timeout when neither the caller nor the environment sets one.
DEFAULT_TIMEOUT_S = 1800.0

__all__ = [
    "BACKEND_ENV", "DEFAULT_TIMEOUT_S", "TIMEOUT_ENV", "DistributedError", "TorchrunEnv", "all_gather_object",
    "all_reduce_mean", "barrier", "broadcast", "broadcast_object", "collective_device", "default_backend", "destroy_dist",
    "get_dist_info", "init_dist", "is_distributed", "is_initialized", "resolve_timeout", "torchrun_env",
    "unwrap_model",
]


_TORCHRUN_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


class DistributedError(RunnerkitError, RuntimeError):
    """Distributed training cannot start, or a rank lost the others (died, raised or timed out).

    Attributes:
        rank: the rank that reports the error (None before the process group exists).
    """

    def __init__(self, message: str, rank: int | None = None) -> None:
        super().__init__(message)
        self.rank = rank


def unwrap_model(model: torch.nn.Module) -> torch.nn.Module:
    """The model inside a DDP/DataParallel wrapper (or the model itself)."""
    inner = getattr(model, "module", None)
    return inner if isinstance(inner, torch.nn.Module) else model


def get_dist_info() -> tuple[int, int]:
    """``(rank, world_size)``; ``(0, 1)`` when torch.distributed is not initialised."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_initialized() -> bool:
    """True when torch.distributed's default process group exists (any world size)."""
    return dist.is_available() and dist.is_initialized()


def is_distributed() -> bool:
    """True when torch.distributed is initialised with more than one process."""
    return get_dist_info()[1] > 1


@dataclasses.dataclass(frozen=True)
class TorchrunEnv:
    """What ``torchrun`` tells each process through its environment."""

    rank: int
    world_size: int
    local_rank: int
    master_addr: str
    master_port: int


def torchrun_env(environ: dict[str, str] | None = None) -> TorchrunEnv | None:
    """The torchrun variables of ``environ`` (default ``os.environ``); None when not started by torchrun.

    Raises:
        DistributedError: some of the variables are set but not all, or one is not a number.
    """
    env = os.environ if environ is None else environ
    present = [name for name in _TORCHRUN_VARS if name in env]
    if not present:
        return None
    missing = [name for name in _TORCHRUN_VARS if name not in env]
    if missing:
        raise DistributedError(
            f"The environment sets {', '.join(f'`{n}`' for n in present)} but not {', '.join(f'`{n}`' for n in missing)}: "
            "start the job with `torchrun --nproc_per_node N ...` (which sets all of them), or unset them."
        )
    try:
        return TorchrunEnv(
            rank=int(env["RANK"]), world_size=int(env["WORLD_SIZE"]), local_rank=int(env["LOCAL_RANK"]),
            master_addr=env["MASTER_ADDR"], master_port=int(env["MASTER_PORT"]),
        )
    except ValueError as err:
        raise DistributedError(f"A torchrun environment variable is not a number ({err}); start the job with `torchrun`.") from err


def default_backend() -> str:
    """``RUNNERKIT_DIST_BACKEND`` if set, else ``nccl`` when a CUDA GPU and NCCL are available, else ``gloo``."""
    chosen = os.environ.get(BACKEND_ENV, "").strip()
    if chosen:
        return chosen
    if torch.cuda.is_available() and dist.is_nccl_available():
        return "nccl"
    return "gloo"


def resolve_timeout(timeout: float | datetime.timedelta | None = None) -> datetime.timedelta:
    """``timeout`` (seconds or a timedelta), else ``RUNNERKIT_DIST_TIMEOUT``, else 1800 s.

    Raises:
        ValueError: the value is not a positive number of seconds.
    """
    source = "timeout"
    if timeout is None:
        text = os.environ.get(TIMEOUT_ENV, "").strip()
        if not text:
            return datetime.timedelta(seconds=DEFAULT_TIMEOUT_S)
        source = TIMEOUT_ENV
        try:
            timeout = float(text)
        except ValueError:
            timeout = -1.0
    if isinstance(timeout, datetime.timedelta):
        seconds = timeout.total_seconds()
    elif isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
        seconds = float(timeout)
    else:
        seconds = -1.0
    if not seconds > 0:
        given = os.environ.get(TIMEOUT_ENV) if source == TIMEOUT_ENV else timeout
        raise ValueError(f"`{source}` must be a positive number of seconds, got `{given!r}`; e.g. `{source}=600`.")
    return datetime.timedelta(seconds=seconds)


def init_dist(backend: str | None = None, timeout: float | datetime.timedelta | None = None) -> tuple[int, int]:
    """Initialise the default process group from torchrun's environment; return ``(rank, world_size)``.

    On a GPU machine each process first selects the GPU ``LOCAL_RANK`` (``torch.cuda.set_device``).
    Calling it again once initialised returns the current rank and world size.

    Args:
        backend: ``"gloo"`` (CPU), ``"nccl"`` (GPU) or any backend torch knows; default
            :func:`default_backend`.
        timeout: seconds (or a timedelta) a collective may wait for the other ranks before it
            fails; default ``RUNNERKIT_DIST_TIMEOUT`` or 1800 s.

    Raises:
        DistributedError: not started by torchrun, or ``nccl`` asked for on a machine without a GPU.

    Example:
        >>> init_dist(backend="gloo", timeout=300)  # doctest: +SKIP
        (0, 2)
    """
    if dist.is_available() and dist.is_initialized():
        return get_dist_info()
    env = torchrun_env()
    if env is None:
        raise DistributedError(
            "Distributed training needs the environment torchrun sets (`RANK`, `WORLD_SIZE`, `LOCAL_RANK`, "
            "`MASTER_ADDR`, `MASTER_PORT`), and none is set: start the job with "
            "`torchrun --nproc_per_node N -m runnerkit run CONFIG`."
        )
    if not dist.is_available():  # pragma: no cover - torch builds without distributed support
        raise DistributedError("This torch build has no torch.distributed support; install a standard torch build.")
    backend = backend or default_backend()
    if backend == "nccl":
        if not torch.cuda.is_available():
            raise DistributedError(
                f"The backend is `nccl`, which needs CUDA GPUs, but this machine (rank {env.rank}) has none: use `gloo` "
                f"(`dist_params=dict(backend=\"gloo\")` in the config, or `{BACKEND_ENV}=gloo`).",
                rank=env.rank,
            )
        torch.cuda.set_device(env.local_rank)
    elif torch.cuda.is_available() and env.local_rank < torch.cuda.device_count():
        torch.cuda.set_device(env.local_rank)
    store = _attempt_store(env.rank, env.world_size, resolve_timeout(timeout))
    if store is None:
        dist.init_process_group(backend=backend, init_method="env://", timeout=resolve_timeout(timeout))
    else:
        dist.init_process_group(backend=backend, store=store, rank=env.rank, world_size=env.world_size,
                                timeout=resolve_timeout(timeout))
    return get_dist_info()


def _attempt_store(rank: int, world_size: int, timeout: datetime.timedelta) -> Any:
    """Under torchrun's shared store, a store of this attempt's processes alone (else None: ``env://`` is fresh).

    torchrun's agents keep one store for the whole job (``TORCHELASTIC_USE_AGENT_STORE=True``): after
    a restart it still holds the failed attempt's keys (the old processes' gloo addresses), and a
    process group that read them would connect to ranks that are gone. The restart count cannot tell
    the attempts apart: with several agents (nodes) it differs between them (an agent whose own
    processes were healthy restarts them without counting). So rank 0 starts a new store on a free
    port and publishes its port and a random token in the agent store; the other ranks use the store
    that answers with that token (a stale entry names a store that died with its process).
    """
    if os.environ.get("TORCHELASTIC_USE_AGENT_STORE") != "True":
        return None
    addr, port = os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"])
    agent = dist.TCPStore(addr, port, world_size, is_master=False, timeout=timeout)  # type: ignore[attr-defined]
    if rank == 0:
        own = dist.TCPStore(addr, 0, world_size, is_master=True, timeout=timeout,  # type: ignore[attr-defined]
                            wait_for_workers=False)
        token = uuid.uuid4().hex
        own.set(_TOKEN_KEY, token)
        agent.set(_ROUND_KEY, f"{own.port} {token}")
        return own
    deadline = time.monotonic() + timeout.total_seconds()
    while True:
        own_port, token = agent.get(_ROUND_KEY).decode().split()
        with contextlib.suppress(RuntimeError):  # a stale entry: its store is gone (or is another one)
            own = dist.TCPStore(addr, int(own_port), world_size, is_master=False,  # type: ignore[attr-defined]
                                timeout=datetime.timedelta(seconds=2))
            if own.get(_TOKEN_KEY).decode() == token:
                own.set_timeout(timeout)
                return own
        if time.monotonic() > deadline:
            raise DistributedError(f"Rank {rank} found no store of rank 0 for this attempt within {timeout}.", rank=rank)
        time.sleep(0.2)


_ROUND_KEY = "runnerkit/attempt_store"
_TOKEN_KEY = "runnerkit/attempt_token"


def destroy_dist() -> None:
    """Tear the default process group down (a no-op when there is none)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def collective_device() -> torch.device:
    """Where tensors must live for the default group's collectives: this rank's GPU for nccl, else the CPU."""
    if dist.is_available() and dist.is_initialized() and dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def barrier() -> None:
    """Wait until every rank gets here (no-op when not distributed). Fails after the group's timeout."""
    if not is_distributed():
        return
    if dist.get_backend() == "nccl":
        dist.barrier(device_ids=[torch.cuda.current_device()])
    else:
        dist.barrier()


def all_reduce_mean(tensor: torch.Tensor) -> torch.Tensor:
    """Replace ``tensor`` (floating point) by its mean over ranks, in place, and return it."""
    if is_distributed():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        tensor.div_(dist.get_world_size())
    return tensor


def broadcast(tensor: torch.Tensor, src: int = 0) -> torch.Tensor:
    """Copy rank ``src``'s ``tensor`` into every rank's ``tensor``, in place, and return it."""
    if is_distributed():
        dist.broadcast(tensor, src)
    return tensor


def broadcast_object(obj: Any, src: int = 0) -> Any:
    """Rank ``src``'s ``obj`` (any picklable object) on every rank."""
    if not is_distributed():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src, device=_object_device())
    return box[0]


def all_gather_object(obj: Any) -> list[Any]:
    """Every rank's ``obj`` (picklable), indexed by rank, on every rank; ``[obj]`` when not distributed."""
    if not is_distributed():
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def _object_device() -> torch.device | None:
    return collective_device() if dist.get_backend() == "nccl" else None
