"""Sharded checkpoints: one folder per checkpoint, written by every rank with torch.distributed.checkpoint.

A sharded checkpoint ``iter_N/`` (or ``epoch_N/``) holds

- the model's and optimizer's state as DCP shards (``__<rank>_0.distcp`` and ``.metadata``), keyed by
  parameter names (``torch.distributed.checkpoint.state_dict``), so it loads at any world size;
- ``runnerkit.pth`` (written once, by rank 0): ``meta`` and the ``runnerkit`` part of a file
  checkpoint (loop position, RNG states, hook states, every rank's data position), nothing that
  depends on how the weights were sharded. It loads with ``weights_only=True``.

It is written under a temporary name (``.tmp-iter_N``) and renamed when complete, so a kill during
the save leaves the previous checkpoint the latest. :func:`consolidate` turns it into the single-file
form (``meta``, ``state_dict``, ``optimizer`` as ``Optimizer.state_dict()`` writes it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Mapping
from typing import Any

import torch

from runnerkit import checkpoint as ckpt_io
from runnerkit.workdir import SHARDED_STATE, TMP_PREFIX, is_checkpoint_dir

__all__ = [
    "SHARDED_STATE", "consolidate", "consolidate_to_file", "folder_name", "full_model_state", "full_optimizer_state", "is_checkpoint_dir",
    "load_sharded", "load_sharded_weights", "publish", "read_sharded", "sharded_state", "to_name_keyed",
    "write_sharded",
]


def folder_name(filename: str) -> str:
    """The folder of a sharded checkpoint for a file name: ``iter_5.pth`` -> ``iter_5``."""
    return filename[: -len(".pth")] if filename.endswith(".pth") else filename


# -- what goes into the shards -------------------------------------------------------------------


def sharded_state(model: torch.nn.Module, optimizer: Any, save_optimizer: bool) -> dict[str, Any]:
    """``{"model": ..., "optimizer": ...}`` keyed by parameter names, as DTensor shards where sharded.

    A dict of optimizers is saved as ``{"optimizer": {name: state}}``.
    """
    from torch.distributed.checkpoint.state_dict import get_model_state_dict, get_optimizer_state_dict

    state: dict[str, Any] = {"model": get_model_state_dict(model)}
    if save_optimizer and optimizer is not None:
        if isinstance(optimizer, dict):
            state["optimizer"] = {k: get_optimizer_state_dict(model, opt) for k, opt in optimizer.items()}
        else:
            state["optimizer"] = get_optimizer_state_dict(model, optimizer)
    return state


def full_model_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The model's whole weights on the CPU, gathered from every rank (a collective; rank 0 gets them)."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    state = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    return dict(state)  # type: ignore[arg-type]


def full_optimizer_state(model: torch.nn.Module, optimizer: Any) -> Any:
    """The optimizer state(s), gathered whole and in ``Optimizer.state_dict()``'s form (a collective)."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_optimizer_state_dict

    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    if isinstance(optimizer, dict):
        return {k: to_index_keyed(get_optimizer_state_dict(model, opt, options=options)) for k, opt in optimizer.items()}
    return to_index_keyed(get_optimizer_state_dict(model, optimizer, options=options))


def to_index_keyed(state: Mapping[str, Any]) -> dict[str, Any]:
    """An optimizer state keyed by parameter names (DCP's form) as ``Optimizer.state_dict()`` keys it (by index)."""
    index: dict[str, int] = {}
    groups = []
    for group in state.get("param_groups", []):
        ids = []
        for name in group["params"]:
            index.setdefault(name, len(index))
            ids.append(index[name])
        groups.append({**group, "params": ids})
    return {"state": {index[name]: value for name, value in state.get("state", {}).items() if name in index},
            "param_groups": groups}


def to_name_keyed(model: torch.nn.Module, optimizer: torch.optim.Optimizer, state: Mapping[str, Any]) -> dict[str, Any]:
    """An ``Optimizer.state_dict()`` (by index) keyed by ``optimizer``'s parameter names, for ``set_optimizer_state_dict``."""
    names = {id(p): n for n, p in model.named_parameters()}
    order = [names[id(p)] for group in optimizer.param_groups for p in group["params"]]
    groups = [{**g, "params": [order[i] for i in g["params"]]} for g in state["param_groups"]]
    return {"state": {order[int(i)]: v for i, v in state["state"].items()}, "param_groups": groups}


# -- writing ---------------------------------------------------------------------------------------


def write_sharded(shards: dict[str, Any], small: dict[str, Any], tmp: str, rank: int, group: Any = None) -> None:
    """Every rank writes its shards of ``shards`` into the folder ``tmp``; rank 0 adds ``small`` (synchronous).

    The caller publishes ``tmp`` (see :func:`publish`) once this returns on rank 0: DCP's save ends
    with rank 0 writing ``.metadata`` after every rank reported its writes finished.
    """
    from torch.distributed.checkpoint.state_dict_saver import save

    save(shards, checkpoint_id=tmp, process_group=group)
    if rank == 0:
        ckpt_io.atomic_save(small, os.path.join(tmp, SHARDED_STATE))


def prepare_folder(tmp: str, rank: int) -> None:
    """Rank 0 empties (or creates) the temporary folder of a save; the caller then waits for rank 0."""
    if rank == 0:
        if os.path.lexists(tmp):
            shutil.rmtree(tmp)
        os.makedirs(tmp)


def publish(tmp: str, final: str) -> None:
    """Rename the complete folder ``tmp`` to ``final`` (replacing an older ``final``), then sync the parent."""
    parent = os.path.dirname(os.path.abspath(final))
    old = None
    if os.path.lexists(final):  # a folder cannot be renamed over a non-empty one: move it aside first
        old = os.path.join(parent, f"{TMP_PREFIX}old-{os.path.basename(final)}")
        if os.path.lexists(old):
            shutil.rmtree(old)
        os.replace(final, old)
    os.replace(tmp, final)
    ckpt_io._fsync_dir(parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# -- reading ---------------------------------------------------------------------------------------


def read_sharded(path: str) -> dict[str, Any]:
    """The ``runnerkit.pth`` part of a sharded checkpoint (``meta``, ``runnerkit``, ``sharded``)."""
    if not is_checkpoint_dir(path):
        raise ckpt_io.CheckpointError(
            path, f"is a folder but not a complete sharded checkpoint (it needs `.metadata` and `{SHARDED_STATE}`): "
            "an interrupted save leaves only a `.tmp-*` folder, which is never a checkpoint. Use another checkpoint.")
    return ckpt_io.load_file(os.path.join(path, SHARDED_STATE))


def load_sharded(path: str, model: torch.nn.Module, optimizer: Any, *, load_optimizer: bool, strict: bool) -> dict[str, Any]:
    """Load a sharded checkpoint into ``model`` (sharded or not, any world size) and ``optimizer``.

    Every rank of the current job calls it (a collective when the model is sharded). Returns the
    ``runnerkit.pth`` part.
    """
    from torch.distributed.checkpoint.state_dict import (
        StateDictOptions,
        get_model_state_dict,
        get_optimizer_state_dict,
        set_model_state_dict,
        set_optimizer_state_dict,
    )

    small = read_sharded(path)
    saved_optimizer = bool(small.get("sharded", {}).get("optimizer"))
    state: dict[str, Any] = {"model": get_model_state_dict(model)}
    with_optimizer = load_optimizer and saved_optimizer and optimizer is not None
    if with_optimizer:
        if isinstance(optimizer, dict):
            state["optimizer"] = {k: get_optimizer_state_dict(model, opt) for k, opt in optimizer.items()}
        else:
            state["optimizer"] = get_optimizer_state_dict(model, optimizer)
    from torch.distributed.checkpoint.state_dict_loader import load

    _check_keys(path, small, state["model"], strict)
    try:
        load(state, checkpoint_id=path)
    except Exception as err:  # DCP's errors name a missing key or a shape; say which checkpoint
        raise ckpt_io.CheckpointError(
            path, f"does not fit the model ({type(model).__name__}) or its optimizer: {' '.join(str(err).split())[:600]}"
        ) from err
    set_model_state_dict(model, state["model"], options=StateDictOptions(strict=strict))
    if with_optimizer:
        if isinstance(optimizer, dict):
            for k, opt in optimizer.items():
                set_optimizer_state_dict(model, opt, state["optimizer"][k])
        else:
            set_optimizer_state_dict(model, optimizer, state["optimizer"])
    return small


def _check_keys(path: str, small: Mapping[str, Any], own: Mapping[str, Any], strict: bool) -> None:
    saved = small.get("sharded", {}).get("model_keys")
    if saved is None:
        return
    missing = [k for k in own if k not in saved]
    unexpected = [k for k in saved if k not in own]
    if strict and (missing or unexpected):
        raise ckpt_io.CheckpointError(
            path, f"does not fit the model: missing keys {missing[:6]}, unexpected keys {unexpected[:6]}. It was saved "
            "from another model or configuration.")
    for key in missing:  # DCP refuses keys it does not have: leave them as they are (strict=False)
        own.pop(key, None)  # type: ignore[attr-defined]


def load_sharded_weights(path: str, model: torch.nn.Module, strict: bool) -> dict[str, Any]:
    """``load_from`` a sharded checkpoint: the model's weights only. Returns the ``runnerkit.pth`` part."""
    return load_sharded(path, model, None, load_optimizer=False, strict=strict)


def consolidate(path: str) -> dict[str, Any]:
    """A sharded checkpoint as one single-file checkpoint: ``meta``, ``state_dict``, ``optimizer``, ``runnerkit``.

    Runs in one process, without a process group; ``torch.save`` the result (or use
    ``runnerkit consolidate``). The optimizer state is keyed by index, as ``Optimizer.state_dict()``.
    """
    from torch.distributed.checkpoint.default_planner import _EmptyStateDictLoadPlanner
    from torch.distributed.checkpoint.filesystem import FileSystemReader
    from torch.distributed.checkpoint.state_dict_loader import _load_state_dict

    small = read_sharded(path)
    everything: dict[str, Any] = {}
    # what torch's own `dcp_to_torch_save` does: read every tensor whole, in one process
    _load_state_dict(everything, storage_reader=FileSystemReader(path), planner=_EmptyStateDictLoadPlanner(), no_dist=True)
    out: dict[str, Any] = {"meta": small.get("meta", {}), "state_dict": dict(everything["model"])}
    saved = everything.get("optimizer")
    if saved is not None:
        names = small.get("sharded", {}).get("optimizer_names")
        out["optimizer"] = ({k: to_index_keyed(saved[k]) for k in names} if names else to_index_keyed(saved))
    if "runnerkit" in small:
        out["runnerkit"] = small["runnerkit"]
    return out


def remove_checkpoint(path: str) -> None:
    """Delete a checkpoint, file or folder (rotation)."""
    with contextlib.suppress(FileNotFoundError):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.remove(path)


def consolidate_to_file(path: str | os.PathLike[str], out: str | os.PathLike[str] | None = None) -> str:
    """Write any checkpoint (a sharded folder, a file, or a work dir's latest) as one file; return its path.

    The file holds ``meta``, ``state_dict``, ``optimizer`` (and ``runnerkit``, the loop state) and
    loads with ``torch.load(..., weights_only=True)``; ``load_from``/``resume`` take it. ``out``
    defaults to ``<checkpoint>.consolidated.pth`` beside the checkpoint.

    Raises:
        FileNotFoundError: there is no checkpoint at ``path``.
        CheckpointError: ``path`` is damaged or not a checkpoint.
    """
    from runnerkit.workdir import find_latest

    source = os.fspath(path).rstrip(os.sep) or os.sep
    if os.path.isdir(source) and not is_checkpoint_dir(source):
        latest = find_latest(source)
        if latest is None and not os.path.isfile(os.path.join(source, ".metadata")):
            raise FileNotFoundError(f"`{source}` is a folder, but neither a sharded checkpoint nor a work dir with one "
                                    "(no `last_checkpoint`); give a checkpoint folder `iter_N`/`epoch_N` or a `.pth` file.")
        source = latest or source
    if os.path.isdir(source):
        checkpoint = consolidate(source)
    else:
        loaded = ckpt_io.load_file(source)
        checkpoint = {k: loaded[k] for k in ("meta", "state_dict", "optimizer", "runnerkit") if k in loaded}
        if "state_dict" not in checkpoint:  # a bare state dict
            checkpoint = {"meta": {}, "state_dict": loaded}
    target = os.fspath(out) if out is not None else folder_name(source) + ".consolidated.pth"
    ckpt_io.atomic_save(checkpoint, target)
    return target
