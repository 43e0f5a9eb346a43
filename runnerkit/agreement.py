"""Resume decided once for a whole distributed job: rank 0 decides, every rank checks it can follow.

Without it each rank resolved ``resume="auto"`` in its own work dir: with node-local work dirs rank 0
resumed, rank 1 started fresh, and DDP averaged the gradients of two different models. Here rank 0
alone resolves the checkpoint (and prepares the work dir), broadcasts its choice, and every rank
confirms that it can read that file (or sharded checkpoint folder) before anything is built. A rank
that cannot makes every rank fail at once with the host name and the path, before any file is written::

    resume_from = decide_once(lambda: prepare_work_dir(...), reads=lambda chosen: [chosen, load_from])

Outside a process group of several ranks it is ``decide()``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable
from typing import TypeVar, cast

from runnerkit import dist
from runnerkit.dist import DistributedError

__all__ = ["decide_once", "unreadable"]

T = TypeVar("T")


def unreadable(path: str) -> str | None:
    """Why this process cannot read the checkpoint ``path`` (a file or a sharded checkpoint's folder); None if it can."""
    shown = os.path.abspath(path)
    if os.path.isdir(path):
        return None if os.access(path, os.R_OK | os.X_OK) else f"the folder `{shown}` is not readable"
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except FileNotFoundError:
        return f"there is no `{shown}`"
    except OSError as err:
        return f"`{shown}` cannot be read ({err.strerror or err})"
    return None


def decide_once(decide: Callable[[], T], reads: Callable[[T], Iterable[str | None]]) -> T:
    """``decide()`` on rank 0, its result on every rank, once every rank can read the paths ``reads(result)`` names.

    Args:
        decide: resolves the checkpoint to resume from (and prepares the work dir); called on rank 0 only.
        reads: the checkpoint paths every rank must read for that decision (None entries are skipped).

    Raises:
        DistributedError: on every rank, when some rank cannot read a path (naming each such rank, its
            host and the path), or on ranks other than 0 when ``decide`` failed on rank 0 (which raises
            its own error).
    """
    if not dist.is_distributed():
        return decide()
    rank, world_size = dist.get_dist_info()
    outcome: tuple[bool, T | None, str]
    if rank == 0:
        try:
            outcome = (True, decide(), "")
        except Exception as err:
            dist.broadcast_object((False, None, f"{type(err).__name__}: {err}"))
            raise
    else:
        outcome = (False, None, "")
    ok, chosen, failure = dist.broadcast_object(outcome)
    if not ok:
        raise DistributedError(f"Rank 0 could not prepare the run, so rank {rank} stops too: {failure}", rank=rank)
    paths = [p for p in reads(cast(T, chosen)) if p is not None]
    problems = [(p, why) for p in paths if (why := unreadable(p)) is not None]
    reports = dist.all_gather_object((socket.gethostname(), problems))
    failed = [(r, host, p, why) for r, (host, found) in enumerate(reports) for p, why in found]
    if failed:
        lines = "\n".join(f"  - rank {r} on host `{host}` cannot read `{p}`: {why}" for r, host, p, why in failed)
        raise DistributedError(
            f"Not every rank of the {world_size} can read the checkpoint rank 0 (host `{reports[0][0]}`) chose:\n{lines}\n"
            "Every rank loads the checkpoint itself: put the work dir on a file system every node sees (or copy the "
            "checkpoint to the same path on every node). Nothing was trained, and no checkpoint or log was written.",
            rank=rank,
        )
    return cast(T, chosen)
