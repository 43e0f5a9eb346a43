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
import functools
import os
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from runnerkit import _mmcv_checkpoint as mmcv_checkpoint
from runnerkit import checkpoint as ckpt_io
from runnerkit import checkpoint_async
from runnerkit import checkpoint_sharded as sharded_io
from runnerkit import dist as dist_utils
from runnerkit._version import __version__
from runnerkit.dist import unwrap_model
from runnerkit.parallel_fsdp import is_sharded
from runnerkit.runners.resume_check import check_same_config, saved_runner
from runnerkit.runners.saved_state import check_state
from runnerkit.workdir import TMP_PREFIX

if TYPE_CHECKING:
    from runnerkit.hooks.hook import Hook
    from runnerkit.runners.base import BaseRunner

__all__ = ["FORMAT", "ResumePoint", "every_rank_saves", "gather_rank_states", "hook_keys", "load_checkpoint", "restore_run_state",
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
    *,
    sharded: bool | None = None,
    async_save: bool = False,
    on_written: Callable[[str], None] | None = None,
) -> str:
    """Write ``runner``'s checkpoint atomically into ``out_dir`` and return its path.

    See :meth:`runnerkit.BaseRunner.save_checkpoint` for the arguments. ``sharded`` (default: when
    the model is sharded) writes a folder with torch.distributed.checkpoint; a file checkpoint of a
    sharded model holds its whole weights, gathered. For a sharded model every rank calls this
    (see :func:`every_rank_saves`). ``async_save`` writes in the background
    (:mod:`runnerkit.checkpoint_async`); ``on_written(path)`` runs on rank 0 once the checkpoint is
    complete and named by ``last_checkpoint`` (rotation).
    """
    if meta is not None and not isinstance(meta, dict):
        raise TypeError(f"`meta` should be a dict or None, got {type(meta).__name__}.")
    checkpoint_async.wait_pending()  # at most one save in flight, and `last_checkpoint` only moves forward
    runner.finite_guard.check_before_save()  # never write non-finite weights
    loop = runner.loop
    tmpl = filename_tmpl or runner.default_filename_tmpl
    filename = tmpl.format(loop.checkpoint_number())
    out_dir = ckpt_io.local_dir(out_dir, "out_dir")
    model = unwrap_model(runner.model)
    full_meta: dict[str, Any] = dict(runner.meta or {})
    full_meta.update(meta or {})
    classes = getattr(model, "CLASSES", None)
    if classes is not None:  # mmcv stores the model's class names with its weights
        full_meta["CLASSES"] = classes
    full_meta.update(loop.progress_meta())
    full_meta.update(runnerkit_version=__version__, time=time.asctime())
    state: dict[str, Any] = {
        "format": FORMAT,
        "loop": loop.state_dict(),
        "rng": ckpt_io.get_rng_state(),
        "hooks": {key: hook.state_dict() for key, hook in hook_keys(runner.hooks).items()},
        "world_size": runner.world_size,
        "batch_sizes": _batch_sizes(runner),
        "runner": saved_runner(runner),  # a resume by another config is checked against it
    }
    gathered = runner.rank_states
    if gathered is not None and gathered[0] == loop.position(runner.mode):
        state["ranks"] = gathered[1]
    optimizer = runner.optimizer if save_optimizer else None
    if sharded if sharded is not None else is_sharded(model):
        return _save_sharded(runner, model, optimizer, out_dir, filename, ckpt_io.plain(full_meta), state,
                             create_symlink, async_save, on_written)
    checkpoint: dict[str, Any] = {"meta": ckpt_io.plain(full_meta)}
    if is_sharded(model):  # a file checkpoint holds whole weights: gather them (every rank takes part)
        checkpoint["state_dict"] = sharded_io.full_model_state(model)
        if optimizer is not None:
            checkpoint["optimizer"] = sharded_io.full_optimizer_state(model, optimizer)
    else:
        checkpoint["state_dict"] = ckpt_io.to_cpu(model.state_dict())
        if isinstance(optimizer, dict):
            checkpoint["optimizer"] = {k: opt.state_dict() for k, opt in optimizer.items()}
        elif optimizer is not None:
            checkpoint["optimizer"] = optimizer.state_dict()
    checkpoint["runnerkit"] = state
    path = os.path.join(out_dir, filename)
    if runner.rank != 0 and is_sharded(model):
        return path  # rank 0 writes the gathered weights

    def write(checkpoint: dict[str, Any]) -> None:
        ckpt_io.atomic_save(checkpoint, path)
        if create_symlink:
            ckpt_io.write_latest(out_dir, filename)
        if on_written is not None:
            on_written(path)

    if async_save:
        checkpoint_async.submit(functools.partial(write, checkpoint_async.snapshot(checkpoint)))
    else:
        write(checkpoint)
    return path


def every_rank_saves(runner: BaseRunner, sharded: bool | None = None) -> bool:
    """Whether a checkpoint of ``runner`` is a collective (its model is sharded, or ``sharded`` asks for it).

    Then every rank calls :func:`save_checkpoint`; otherwise rank 0 alone does.
    """
    return bool(sharded) or is_sharded(unwrap_model(runner.model))


def _batch_sizes(runner: BaseRunner) -> dict[str, int]:
    """Each data loader's batch size, by loader index (to continue at another world size)."""
    sizes = {}
    for index, iterator in runner.loop.passes.items():
        size = getattr(iterator.loader, "batch_size", None)
        if isinstance(size, int):
            sizes[str(index)] = size
    return sizes


def _save_sharded(runner: BaseRunner, model: Any, optimizer: Any, out_dir: str, filename: str, meta: dict[str, Any],
                  state: dict[str, Any], create_symlink: bool, async_save: bool,
                  on_written: Callable[[str], None] | None) -> str:
    """A sharded checkpoint folder: every rank writes its shards, rank 0 the rest, then renames it into place."""
    name = sharded_io.folder_name(filename)
    final, tmp = os.path.join(out_dir, name), os.path.join(out_dir, TMP_PREFIX + name)
    rank = runner.rank
    shards = sharded_io.sharded_state(model, optimizer, optimizer is not None)
    small = {
        "meta": meta,
        "runnerkit": state,
        "sharded": {
            "world_size": runner.world_size,
            "optimizer": optimizer is not None,
            "optimizer_names": sorted(optimizer) if isinstance(optimizer, dict) else None,
            "model_keys": list(shards["model"]),
        },
    }
    if rank == 0:
        os.makedirs(out_dir, exist_ok=True)
    sharded_io.prepare_folder(tmp, rank)
    dist_utils.barrier()

    def finish() -> None:
        if rank == 0:
            ckpt_io.atomic_save(small, os.path.join(tmp, sharded_io.SHARDED_STATE))
            sharded_io.publish(tmp, final)
            if create_symlink:
                ckpt_io.write_latest(out_dir, name)
            if on_written is not None:
                on_written(final)

    from torch.distributed.checkpoint.state_dict_saver import async_save as dcp_async_save
    from torch.distributed.checkpoint.state_dict_saver import save as dcp_save

    if async_save:
        group = checkpoint_async.dcp_group() if dist_utils.is_initialized() else None
        # DCP stages (copies) the shards to CPU memory before it returns; the write runs in its own thread
        future = dcp_async_save(shards, checkpoint_id=tmp, process_group=group, no_dist=group is None)
        small = checkpoint_async.snapshot(small)

        def write() -> None:
            _result(future)
            finish()

        checkpoint_async.submit(write)
    else:
        dcp_save(shards, checkpoint_id=tmp, no_dist=not dist_utils.is_initialized())
        finish()
    return final


def _result(future: Any) -> Any:
    """The result of what ``dcp.async_save`` returned (a future, or a response holding one)."""
    inner = getattr(future, "upload_completion", None) or future
    return inner.result()


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
    path = os.fspath(filename)
    if os.path.isdir(path):  # a sharded checkpoint folder
        return sharded_io.load_sharded_weights(path, unwrap_model(runner.model), strict=strict)
    checkpoint = ckpt_io.load_file(path, map_location, weights_only)
    return _apply_weights(runner, checkpoint, filename, strict, revise_keys)


def _apply_weights(runner: BaseRunner, checkpoint: dict[str, Any], filename: str | os.PathLike[str],
                   strict: bool | Literal["fit"], revise_keys: Sequence[tuple[str, str]]) -> dict[str, Any]:
    model = unwrap_model(runner.model)
    path = os.fspath(filename)
    checkpoint = mmcv_checkpoint.split_ema(checkpoint, model)  # mmcv's EMA buffers
    if is_sharded(model):
        missing, unexpected = _load_whole_into_sharded(model, checkpoint, path, strict is True, revise_keys)
    else:
        missing, unexpected = ckpt_io.load_weights(model, checkpoint, path, strict=strict, revise_keys=revise_keys)
    if missing or unexpected:
        runner.logger.warning(
            "Checkpoint `%s` did not match the model: missing keys %s, unexpected keys %s", filename, missing, unexpected
        )
    return checkpoint


def _load_whole_into_sharded(model: Any, checkpoint: dict[str, Any], path: str, strict: bool,
                             revise_keys: Sequence[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """A file checkpoint's whole weights into a sharded model: each rank keeps its shard of them."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict

    state = ckpt_io.revise_state_keys(dict(checkpoint.get("state_dict", checkpoint)), revise_keys)
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if strict and (missing or unexpected):
        raise ckpt_io.CheckpointError(path, f"does not fit the model ({type(model).__name__}): missing keys "
                                      f"{missing[:6]}, unexpected keys {unexpected[:6]}.")
    set_model_state_dict(model, {k: v for k, v in state.items() if k in own},
                         options=StateDictOptions(full_state_dict=True, strict=False))
    return missing, unexpected


def _load_whole_optimizer(model: Any, optimizer: Any, saved: Any, path: str, name: str | None = None) -> None:
    """A file checkpoint's optimizer state (by index) into the optimizer of a sharded model."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict

    try:
        named = sharded_io.to_name_keyed(model, optimizer, saved)
        set_optimizer_state_dict(model, optimizer, named, options=StateDictOptions(full_state_dict=True))
    except (ValueError, KeyError, TypeError, IndexError, RuntimeError) as err:
        which = f"optimizer `{name}`" if name else "optimizer"
        raise ckpt_io.CheckpointError(path, f"holds an optimizer state that does not fit the {which}: {err}") from err


def resume(
    runner: BaseRunner,
    checkpoint: str | os.PathLike[str],
    resume_optimizer: bool = True,
    map_location: Any = "cpu",
    weights_only: bool = True,
) -> None:
    """Put ``runner`` where ``checkpoint`` left its run (see :meth:`runnerkit.BaseRunner.resume`)."""
    path = os.fspath(checkpoint)
    if os.path.isdir(path) and not sharded_io.is_checkpoint_dir(path):  # a work dir: its latest checkpoint
        latest = ckpt_io.find_latest(path)
        if latest is None:
            raise FileNotFoundError(f"No checkpoint to resume from in `{path}` (no `last_checkpoint` or `latest.pth`).")
        path = latest
    if map_location == "default":
        map_location = "cpu"
    model = unwrap_model(runner.model)
    optimizer = runner.optimizer
    runner.logger.info("load checkpoint from %s", path)
    sharded = os.path.isdir(path)  # a sharded checkpoint folder, at this or another world size
    ckpt = sharded_io.read_sharded(path) if sharded else ckpt_io.load_file(path, map_location, weights_only)
    state = ckpt.get("runnerkit")
    if state is not None:
        check_state(state, path, FORMAT)  # every part, before any of the checkpoint is applied
        check_same_config(runner, state, path)  # another runner or schedule wrote it: refused or said
    if sharded:
        sharded_io.load_sharded(path, model, optimizer, load_optimizer=resume_optimizer, strict=True)
    else:
        # mmcv's `resume` loads with strict=False: keys the model lacks or has in addition are logged as a
        # warning (mmdet's EMA hooks save `ema_*` buffers they register only when the run starts); other
        # shapes or another model's checkpoint are still refused (docs/migration.md)
        ckpt = _apply_weights(runner, ckpt, path, "fit", ((r"^module\.", ""),))
        if resume_optimizer and "optimizer" in ckpt and optimizer is not None:
            load = (functools.partial(_load_whole_optimizer, model) if is_sharded(model) else ckpt_io.load_optimizer_state)
            if isinstance(optimizer, dict):
                saved = ckpt["optimizer"] if isinstance(ckpt["optimizer"], dict) else {}
                for name, opt in optimizer.items():
                    load(opt, saved.get(name), path, name)
            else:
                load(optimizer, ckpt["optimizer"], path)
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
    """This rank's RNG states and data positions in a checkpoint's ``runnerkit`` state.

    At another world size than the checkpoint's (resharding), every rank continues from the number
    of samples the saving ranks had seen together (``DistributedSampler`` deals one order over all
    ranks), with rank 0's RNG states.
    """
    ranks = state.get("ranks")
    world_size = runner.world_size
    if ranks is not None and len(ranks) == world_size:
        return dict(ranks[runner.rank])
    saved_world = state.get("world_size")
    if isinstance(saved_world, int) and saved_world != world_size and "batch_sizes" in state:
        loaders = _rescaled_positions(runner, state, saved_world)
        runner.logger.warning(
            "The checkpoint was saved by %d process(es) and %d resume it: the data continues from the samples "
            "already seen; RNG states are rank 0's, so random draws differ from the run never stopped.",
            saved_world, world_size)
        return {"rng": state["rng"], "loaders": loaders}
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


def _rescaled_positions(runner: BaseRunner, state: dict[str, Any], saved_world: int) -> dict[str, Any]:
    """Rank 0's data positions with ``consumed`` batches recounted for this world size and batch size."""
    loaders: dict[str, Any] = {}
    for index, position in state["loop"].get("loaders", {}).items():
        position = dict(position)
        saved_batch = state["batch_sizes"].get(index)
        iterator = runner.loop.passes.get(int(index))
        batch = getattr(iterator.loader, "batch_size", None) if iterator is not None else None
        if isinstance(saved_batch, int) and isinstance(batch, int) and batch > 0:
            seen = int(position.get("consumed", 0)) * saved_batch * saved_world
            position["consumed"] = seen // (batch * runner.world_size)
        loaders[index] = position
    return loaders
