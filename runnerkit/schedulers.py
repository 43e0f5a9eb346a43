"""Processes a scheduler started (Slurm's ``srun``, Open MPI's ``mpirun``) as ranks of one torch.distributed job.

A scheduler starts every process itself and tells each its place in its own variables; torch.distributed
reads torchrun's (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``).
:func:`scheduler_env` maps one onto the other:

====================  =====================================  =============================================
torchrun              Slurm (``--launcher slurm``)           Open MPI (``--launcher mpi``)
====================  =====================================  =============================================
``RANK``              ``SLURM_PROCID``                       ``OMPI_COMM_WORLD_RANK``
``WORLD_SIZE``        ``SLURM_NTASKS``                       ``OMPI_COMM_WORLD_SIZE``
``LOCAL_RANK``        ``SLURM_LOCALID``                      ``OMPI_COMM_WORLD_LOCAL_RANK``
``MASTER_ADDR``       itself if set, else the first host of  itself; on one node ``127.0.0.1``
                      ``SLURM_NODELIST`` (``scontrol show
                      hostnames``; a single plain host name
                      as it is)
``MASTER_PORT``       itself, else ``port``, else 29500      the same
====================  =====================================  =============================================

When the master address cannot be found (several nodes, no ``MASTER_ADDR`` and no ``scontrol``)
it refuses with the fix instead of guessing: every rank must meet rank 0, which runs on the first node.

Example:
    >>> scheduler_env("mpi", {"OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "2",
    ...                       "OMPI_COMM_WORLD_LOCAL_RANK": "1", "OMPI_COMM_WORLD_LOCAL_SIZE": "2"})
    {'RANK': '1', 'WORLD_SIZE': '2', 'LOCAL_RANK': '1', 'MASTER_ADDR': '127.0.0.1', 'MASTER_PORT': '29500'}
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping

from runnerkit.dist import DistributedError

__all__ = ["DEFAULT_PORT", "SCHEDULERS", "detect_scheduler", "export_scheduler_env", "scheduler_env"]

#: the launchers that map a scheduler's variables.
SCHEDULERS = ("slurm", "mpi")
#: ``MASTER_PORT`` when neither the environment nor the caller sets one (mmcv's default).
DEFAULT_PORT = 29500

_SLURM_NODELISTS = ("SLURM_STEP_NODELIST", "SLURM_JOB_NODELIST", "SLURM_NODELIST")
_PLAIN_HOST = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-_]*")


_START = {
    "Slurm": "`srun --ntasks N runnerkit run CONFIG` (inside an allocation: `sbatch` or `salloc`)",
    "Open MPI": "`mpirun -np N -x MASTER_ADDR=HOST runnerkit run CONFIG`",
}


def _ints(environ: Mapping[str, str], names: Mapping[str, str], how: str) -> dict[str, int]:
    missing = [name for name in names.values() if name not in environ]
    if missing:
        raise DistributedError(
            f"The {how} environment is incomplete: {', '.join(f'`{n}`' for n in missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not set. Start every process with {_START[how]}."
        )
    try:
        return {key: int(environ[name]) for key, name in names.items()}
    except ValueError as err:
        raise DistributedError(f"A {how} environment variable is not a number ({err}); start the job with {_START[how]}.") from err


def _port(environ: Mapping[str, str], port: int | None) -> str:
    return environ.get("MASTER_PORT") or str(port if port is not None else DEFAULT_PORT)


def _first_slurm_host(environ: Mapping[str, str]) -> str:
    """The first host of the job's node list (where rank 0 runs)."""
    nodelist = next((environ[name] for name in _SLURM_NODELISTS if environ.get(name)), None)
    if nodelist is None:
        raise DistributedError(
            "A Slurm job needs the master address: `MASTER_ADDR` is not set and neither is `SLURM_NODELIST`. "
            "Run inside a Slurm allocation (`sbatch`/`salloc` + `srun`), or export `MASTER_ADDR` (the first node's "
            "host name) and `MASTER_PORT`."
        )
    scontrol = shutil.which("scontrol", path=environ.get("PATH"))
    if scontrol is not None:
        try:
            done = subprocess.run([scontrol, "show", "hostnames", nodelist], capture_output=True, text=True, timeout=60,
                                  env=dict(environ))
        except (OSError, subprocess.TimeoutExpired) as err:
            raise DistributedError(f"`{scontrol} show hostnames {nodelist}` failed ({err}); export `MASTER_ADDR` "
                                   "(the first node's host name) instead.") from err
        hosts = done.stdout.split()
        if done.returncode == 0 and hosts:
            return hosts[0]
        raise DistributedError(
            f"`{scontrol} show hostnames {nodelist}` did not name a host (exit status {done.returncode}: "
            f"{(done.stderr or done.stdout).strip()[:200]!r}); export `MASTER_ADDR` (the first node's host name) instead."
        )
    if _PLAIN_HOST.fullmatch(nodelist):
        return nodelist
    raise DistributedError(
        f"Slurm's processes cannot find the master address: `MASTER_ADDR` is not set and `scontrol` (to expand "
        f"`SLURM_NODELIST={nodelist}` into host names) is not on `PATH`. Export the first node's host name, e.g. in "
        "the batch script: `export MASTER_ADDR=$(scontrol show hostnames \"$SLURM_JOB_NODELIST\" | head -n 1)`."
    )


def _slurm(environ: Mapping[str, str], port: int | None) -> dict[str, str]:
    ids = _ints(environ, {"rank": "SLURM_PROCID", "world": "SLURM_NTASKS"}, "Slurm")
    local = environ.get("SLURM_LOCALID", str(ids["rank"]))
    addr = environ.get("MASTER_ADDR") or _first_slurm_host(environ)
    return {"RANK": str(ids["rank"]), "WORLD_SIZE": str(ids["world"]), "LOCAL_RANK": local, "MASTER_ADDR": addr,
            "MASTER_PORT": _port(environ, port)}


def _mpi(environ: Mapping[str, str], port: int | None) -> dict[str, str]:
    ids = _ints(environ, {"rank": "OMPI_COMM_WORLD_RANK", "world": "OMPI_COMM_WORLD_SIZE",
                          "local": "OMPI_COMM_WORLD_LOCAL_RANK"}, "Open MPI")
    addr = environ.get("MASTER_ADDR")
    if not addr:
        if environ.get("OMPI_COMM_WORLD_LOCAL_SIZE") != str(ids["world"]):
            raise DistributedError(
                "An MPI job needs the master address: `MASTER_ADDR` is not set and the processes run on several "
                "nodes. Pass the first node's host name to every process: `mpirun -x MASTER_ADDR=HOST -x MASTER_PORT=PORT ...`."
            )
        addr = "127.0.0.1"  # every process on this node
    return {"RANK": str(ids["rank"]), "WORLD_SIZE": str(ids["world"]), "LOCAL_RANK": str(ids["local"]),
            "MASTER_ADDR": addr, "MASTER_PORT": _port(environ, port)}


def scheduler_env(kind: str, environ: Mapping[str, str] | None = None, *, port: int | None = None) -> dict[str, str]:
    """torchrun's variables for a process the scheduler ``kind`` (``"slurm"`` or ``"mpi"``) started.

    Args:
        kind: ``"slurm"`` or ``"mpi"``.
        environ: the process's environment (default ``os.environ``).
        port: ``MASTER_PORT`` when the environment does not set it (default 29500).

    Raises:
        DistributedError: the scheduler's variables are missing or not numbers, or the master
            address cannot be found; the message says how to start the job.
    """
    env = os.environ if environ is None else environ
    if kind == "slurm":
        return _slurm(env, port)
    if kind == "mpi":
        return _mpi(env, port)
    raise DistributedError(f"Unknown scheduler `{kind}`; expected one of {', '.join(f'`{s}`' for s in SCHEDULERS)}.")


def export_scheduler_env(kind: str, *, port: int | None = None) -> dict[str, str]:
    """:func:`scheduler_env` written into ``os.environ`` (so that ``init_dist`` finds it); the variables set."""
    mapped = scheduler_env(kind, port=port)
    os.environ.update(mapped)
    return mapped


def detect_scheduler(environ: Mapping[str, str] | None = None) -> tuple[str, int, int] | None:
    """``(kind, rank, world_size)`` when a scheduler started this process as one of several tasks, else None.

    Slurm: ``SLURM_PROCID`` set and ``SLURM_NTASKS`` > 1 (``srun``). Open MPI: ``OMPI_COMM_WORLD_SIZE`` > 1.
    """
    env = os.environ if environ is None else environ
    for kind, rank_var, size_var in (("slurm", "SLURM_PROCID", "SLURM_NTASKS"),
                                     ("mpi", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE")):
        try:
            rank, size = int(env.get(rank_var, "")), int(env.get(size_var, ""))
        except ValueError:
            continue
        if size > 1:
            return kind, rank, size
    return None
