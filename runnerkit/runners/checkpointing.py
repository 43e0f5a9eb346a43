"""Saving, resuming and loading checkpoints: functions over a runner's public surface.

``BaseRunner.save_checkpoint``/``resume``/``load_checkpoint`` call these. They use only what
any runner exposes: ``model``, ``optimizer``, ``meta``, ``hooks``, ``logger``, ``rank``,
``world_size``, ``mode`` and ``loop`` (a :class:`~runnerkit.runners.loop_state.LoopState`).

Besides mmcv's ``meta``/``state_dict``/``optimizer``, a checkpoint holds ``runnerkit``: the loop
position (including where each data loader is in its pass), the RNG states and every hook's
``state_dict()``, so that :func:`resume` continues exactly.
"""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from runnerkit import _mmcv_checkpoint as mmcv_checkpoint
from runnerkit import checkpoint as ckpt_io
from runnerkit import dist as dist_utils
from runnerkit._version import __version__
from runnerkit.dist import unwrap_model
from runnerkit.runners.saved_state import check_state

if TYPE_CHECKING:
    from runnerkit.hooks.hook import Hook
    from runnerkit.runners.base import BaseRunner

__all__ = ["FORMAT", "ResumePoint", "gather_rank_states", "hook_keys", "load_checkpoint", "restore_run_state",
           "resume", "save_checkpoint"]


#: the version of the ``runnerkit`` part of a checkpoint.
FORMAT = 1


@dataclasses.dataclass
class ResumePoint:
    """What :func:`resume` read that can only be applied once ``run`` starts.

    Attributes:
        state: the checkpoint's ``runnerkit`` part (RNG states, data positions, per-rank states).
        hook_states: every saved hook state, by hook key (see :func:`hook_keys`).
        applied: the hook keys whose state was already given to a registered hook.
        path: the checkpoint file (for messages).
    """

    state: dict[str, Any]
    hook_states: dict[str, Any]
    applied: set[str]
    path: str = "the resumed checkpoint"


def hook_keys(hooks: Iterable[Hook]) -> dict[str, Hook]:
    """Each hook under its class name, numbered from the second of a class on (``Name#1``)."""
    keys: dict[str, Hook] = {}
    for hook in hooks:
        name = type(hook).__name__
        key, n = name, 1
        while key in keys:
            key, n = f"{name}#{n}", n + 1
        keys[key] = hook
    return keys


# -- saving ------------------------------------------------------------------------------------

def save_checkpoint(
    runner: BaseRunner,
    out_dir: str | os.PathLike[str],
    filename_tmpl: str | None = None,
    save_optimizer: bool = True,
    meta: dict[str, Any] | None = None,
    create_symlink: bool = True,
) -> str:
    """Write ``runner``'s checkpoint atomically into ``out_dir`` and return its path.

    See :meth:`runnerkit.BaseRunner.save_checkpoint` for the arguments.
    """
    if meta is not None and not isinstance(meta, dict):
        raise TypeError(f"`meta` should be a dict or None, got {type(meta).__name__}.")
    runner.finite_guard.check_before_save()  # never write non-finite weights
    loop = runner.loop
    tmpl = filename_tmpl or runner.default_filename_tmpl
    filename = tmpl.format(loop.checkpoint_number())
    out_dir = ckpt_io.local_dir(out_dir, "out_dir")
    path = os.path.join(out_dir, filename)
    full_meta: dict[str, Any] = dict(runner.meta or {})
    full_meta.update(meta or {})
    classes = getattr(unwrap_model(runner.model), "CLASSES", None)
    if classes is not None:  # mmcv stores the model's class names with its weights
        full_meta["CLASSES"] = classes
    full_meta.update(loop.progress_meta())
    full_meta.update(runnerkit_version=__version__, time=time.asctime())
    checkpoint: dict[str, Any] = {
        "meta": ckpt_io.plain(full_meta),
        "state_dict": ckpt_io.to_cpu(unwrap_model(runner.model).state_dict()),
    }
    optimizer = runner.optimizer
    if save_optimizer and optimizer is not None:
        if isinstance(optimizer, dict):
            checkpoint["optimizer"] = {k: opt.state_dict() for k, opt in optimizer.items()}
        else:
            checkpoint["optimizer"] = optimizer.state_dict()
    checkpoint["runnerkit"] = {
        "format": FORMAT,
        "loop": loop.state_dict(),
        "rng": ckpt_io.get_rng_state(),
        "hooks": {key: hook.state_dict() for key, hook in hook_keys(runner.hooks).items()},
    }
    gathered = runner.rank_states
    if gathered is not None and gathered[0] == loop.position(runner.mode):
        checkpoint["runnerkit"]["ranks"] = gathered[1]
    ckpt_io.atomic_save(checkpoint, path)
    if create_symlink:
        ckpt_io.write_latest(out_dir, filename)
    return path


def gather_rank_states(runner: BaseRunner) -> None:
    """Collect every rank's RNG states and data positions into ``runner.rank_states``.

    A collective under torch.distributed (every rank calls it); a no-op in one process. A
    checkpoint saved at the same loop position then holds them under ``runnerkit.ranks``.
    """
    if runner.world_size > 1:
        own = {"rng": ckpt_io.get_rng_state(), "loaders": runner.loop.pass_states()}
        runner.rank_states = (runner.loop.position(runner.mode), dist_utils.all_gather_object(own))


# -- loading -----------------------------------------------------------------------------------

def load_checkpoint(
    runner: BaseRunner,
    filename: str | os.PathLike[str],
    map_location: Any = "cpu",
    strict: bool = False,
    revise_keys: Sequence[tuple[str, str]] = ((r"^module\.", ""),),
    weights_only: bool = True,
) -> dict[str, Any]:
    """Load model weights from ``filename`` into ``runner.model`` and return the checkpoint.

    See :meth:`runnerkit.BaseRunner.load_checkpoint` for the arguments.
    """
    runner.logger.info("load checkpoint from %s", filename)
    checkpoint = ckpt_io.load_file(os.fspath(filename), map_location, weights_only)
    return _apply_weights(runner, checkpoint, filename, strict, revise_keys)


def _apply_weights(runner: BaseRunner, checkpoint: dict[str, Any], filename: str | os.PathLike[str], strict: bool,
                   revise_keys: Sequence[tuple[str, str]]) -> dict[str, Any]:
    checkpoint = mmcv_checkpoint.split_ema(checkpoint, unwrap_model(runner.model))  # mmcv's EMA buffers
    missing, unexpected = ckpt_io.load_weights(
        unwrap_model(runner.model), checkpoint, os.fspath(filename), strict=strict, revise_keys=revise_keys
    )
    if missing or unexpected:
        runner.logger.warning(
            "Checkpoint `%s` did not match the model: missing keys %s, unexpected keys %s", filename, missing, unexpected
        )
    return checkpoint


def resume(
    runner: BaseRunner,
    checkpoint: str | os.PathLike[str],
    resume_optimizer: bool = True,
    map_location: Any = "cpu",
    weights_only: bool = True,
) -> None:
    """Put ``runner`` where ``checkpoint`` left its run (see :meth:`runnerkit.BaseRunner.resume`)."""
    path = os.fspath(checkpoint)
    if os.path.isdir(path):
        latest = ckpt_io.find_latest(path)
        if latest is None:
            raise FileNotFoundError(f"No checkpoint to resume from in `{path}` (no `last_checkpoint` or `latest.pth`).")
        path = latest
    if map_location == "default":
        map_location = "cpu"
    runner.logger.info("load checkpoint from %s", path)
    ckpt = ckpt_io.load_file(path, map_location, weights_only)
    state = ckpt.get("runnerkit")
    if state is not None:
        check_state(state, path, FORMAT)  # every part, before any of the checkpoint is applied
    ckpt = _apply_weights(runner, ckpt, path, True, ((r"^module\.", ""),))
    optimizer = runner.optimizer
    if resume_optimizer and "optimizer" in ckpt and optimizer is not None:
        if isinstance(optimizer, dict):
            saved = ckpt["optimizer"] if isinstance(ckpt["optimizer"], dict) else {}
            for name, opt in optimizer.items():
                ckpt_io.load_optimizer_state(opt, saved.get(name), path, name)
        else:
            ckpt_io.load_optimizer_state(optimizer, ckpt["optimizer"], path)
    meta: dict[str, Any] = ckpt.get("meta", {})
    runner_meta: dict[str, Any] = runner.meta if runner.meta is not None else {}
    runner_meta.setdefault("hook_msgs", {}).update(meta.get("hook_msgs", {}))
    runner.meta = runner_meta
    loop = runner.loop
    if state is None:  # an mmcv-era checkpoint: counters only
        warnings.warn(
            f"`{path}` has no runnerkit state (an mmcv 1.x checkpoint?): resuming weights, optimizer, epoch and "
            "iteration, but exact continuation is not possible (it holds no data position or RNG states).",
            stacklevel=3,
        )
        loop.epoch = int(meta.get("epoch", 0))
        loop.iter = int(meta.get("iter", 0))
        mmcv_checkpoint.resume_ema(runner, ckpt)
    else:
        loop.load_state_dict(state["loop"])
        hook_states: dict[str, Any] = state.get("hooks", {})
        applied = set()
        for key, hook in hook_keys(runner.hooks).items():
            if key in hook_states:
                _load_hook_state(hook, key, hook_states[key], path)
                applied.add(key)
        runner.pending_resume = ResumePoint(state, hook_states, applied, path)
    runner.logger.info("resumed epoch %d, iter %d", loop.epoch, loop.iter)


def restore_run_state(runner: BaseRunner) -> None:
    """At the start of ``run``: give late-registered hooks their state, put loaders and RNGs back."""
    point = runner.pending_resume
    if point is None:
        return
    runner.pending_resume = None
    for key, hook in hook_keys(runner.hooks).items():
        if key in point.hook_states and key not in point.applied:
            _load_hook_state(hook, key, point.hook_states[key], point.path)
    own = _own_saved_state(runner, point.state)
    runner.loop.load_pass_states(own["loaders"])
    ckpt_io.set_rng_state(own["rng"])


def _load_hook_state(hook: Hook, key: str, state: dict[str, Any], path: str) -> None:
    """``hook.load_state_dict(state)``; a state the hook cannot take is the checkpoint's fault, said so."""
    try:
        hook.load_state_dict(state)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as err:
        raise ckpt_io.CheckpointError(
            path, f"has a state for hook `{key}` (`runnerkit.hooks.{key}`) that the hook cannot take "
            f"({type(err).__name__}: {err}); it was saved by another version of that hook, or it is damaged."
        ) from err


def _own_saved_state(runner: BaseRunner, state: dict[str, Any]) -> dict[str, Any]:
    """This rank's RNG states and data positions in a checkpoint's ``runnerkit`` state."""
    ranks = state.get("ranks")
    world_size = runner.world_size
    if ranks is not None and len(ranks) == world_size:
        return dict(ranks[runner.rank])
    if ranks is None and world_size > 1:
        warnings.warn(
            f"The checkpoint holds rank 0's RNG states and data positions only (it was saved by one process, or "
            f"without `gather_rank_states()` on every rank first), and {world_size} processes resume it: every "
            "rank continues from rank 0's, so the run does not continue exactly as it would have.",
            stacklevel=4,
        )
    elif ranks is not None:
        warnings.warn(
            f"The checkpoint was saved by {len(ranks)} processes and {world_size} resume it: every rank "
            "continues from rank 0's RNG states and data positions, so the run does not continue exactly as it "
            f"would have. Resume with {len(ranks)} processes for that.",
            stacklevel=4,
        )
    return {"rng": state["rng"], "loaders": state["loop"].get("loaders", {})}
