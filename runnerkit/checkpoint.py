"""Checkpoint files: atomic writes, a latest pointer that works without symlinks, safe loading,
and the RNG states a run needs to continue exactly.

A checkpoint is a dict with mmcv's keys ``meta``, ``state_dict`` and ``optimizer`` plus
``runnerkit`` (loop position, RNG states, hook states). Everything in it loads with
``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import random
import tempfile
from collections.abc import Mapping
from typing import Any

import torch

#: the file in a work dir that names the latest checkpoint (works where symlinks do not).
LAST_CHECKPOINT = "last_checkpoint"
LATEST_LINK = "latest.pth"


def atomic_save(obj: Any, path: str) -> None:
    """Write ``obj`` to ``path`` so that a crash never leaves a half-written file at ``path``.

    The data goes to a temporary file in the same folder, is flushed to disk, then renamed over
    ``path`` in one step.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".pth")
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_latest(directory: str, filename: str) -> None:
    """Point ``last_checkpoint`` (and, where possible, the ``latest.pth`` symlink) at ``filename``."""
    pointer = os.path.join(directory, LAST_CHECKPOINT)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".txt")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(filename + "\n")
    os.replace(tmp, pointer)
    link = os.path.join(directory, LATEST_LINK)
    try:
        tmp_link = link + ".tmp"
        if os.path.lexists(tmp_link):
            os.unlink(tmp_link)
        os.symlink(filename, tmp_link)
        os.replace(tmp_link, link)
    except (OSError, NotImplementedError):
        pass  # no symlinks here (Windows without privileges, some network file systems)


def find_latest(directory: str) -> str | None:
    """The latest checkpoint in ``directory`` (from ``last_checkpoint``, else ``latest.pth``), or None."""
    pointer = os.path.join(directory, LAST_CHECKPOINT)
    if os.path.isfile(pointer):
        with open(pointer, encoding="utf-8") as fh:
            name = fh.read().strip()
        path = name if os.path.isabs(name) else os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    link = os.path.join(directory, LATEST_LINK)
    if os.path.exists(link):
        return os.path.realpath(link)
    return None


def load_file(path: str, map_location: Any = "cpu", weights_only: bool = True) -> dict[str, Any]:
    """Load a checkpoint, by default with ``weights_only=True`` (no code runs while loading).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        pickle.UnpicklingError: the file holds pickled Python objects and ``weights_only`` is True.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Checkpoint `{path}` does not exist; check the path (or the work dir's `last_checkpoint`).")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=weights_only)
    except pickle.UnpicklingError as err:
        if not weights_only:
            raise
        raise pickle.UnpicklingError(
            f"Checkpoint `{path}` holds pickled Python objects that `weights_only=True` refuses to load "
            f"({str(err).splitlines()[0]}). Loading it would run code from the file: only if you trust "
            f"its source, pass `weights_only=False` to `runner.resume` / `runner.load_checkpoint`."
        ) from err
    if not isinstance(ckpt, Mapping):
        raise ValueError(f"Checkpoint `{path}` holds a {type(ckpt).__name__}, expected a dict with `state_dict`.")
    return dict(ckpt)


def to_cpu(state: Any) -> Any:
    """A copy of a (nested) state dict with every tensor moved to the CPU."""
    if isinstance(state, torch.Tensor):
        return state.detach().cpu()
    if isinstance(state, dict):  # keeps OrderedDict, and a state dict's `_metadata` (module versions)
        copy = type(state)((k, to_cpu(v)) for k, v in state.items())
        if hasattr(state, "_metadata"):
            copy._metadata = state._metadata  # type: ignore[attr-defined]
        return copy
    if isinstance(state, Mapping):
        return {k: to_cpu(v) for k, v in state.items()}
    if isinstance(state, list):
        return [to_cpu(v) for v in state]
    if isinstance(state, tuple):
        return tuple(to_cpu(v) for v in state)
    return state


_PLAIN = (str, int, float, bool, type(None), torch.Tensor, torch.dtype, torch.device, torch.Size)


def plain(value: Any) -> Any:
    """``value`` with anything ``weights_only`` loading would refuse replaced by its ``repr``."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, Mapping):
        return {(k if isinstance(k, (str, int)) else repr(k)): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [plain(v) for v in value]
        return tuple(items) if type(value) is tuple else items  # named tuples become lists
    return repr(value)


def get_rng_state() -> dict[str, Any]:
    """The RNG states of Python, NumPy (if installed), torch CPU and every CUDA device."""
    state: dict[str, Any] = {"python": _python_state(random.getstate()), "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    try:
        import numpy as np
    except ImportError:
        pass
    else:
        np_state = np.random.get_state(legacy=False)
        state["numpy"] = {
            "bit_generator": np_state["bit_generator"],
            "key": torch.from_numpy(np_state["state"]["key"].astype("int64")),
            "pos": int(np_state["state"]["pos"]),
            "has_gauss": int(np_state["has_gauss"]),
            "gauss": float(np_state["gauss"]),
        }
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore what :func:`get_rng_state` returned (CUDA states only where CUDA is available)."""
    if "python" in state:
        version, internal, gauss = state["python"]
        random.setstate((version, tuple(internal), gauss))
    if "torch" in state:
        torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        states = list(state["cuda"])[: torch.cuda.device_count()]
        torch.cuda.set_rng_state_all([s.cpu() for s in states])
    if "numpy" in state:
        try:
            import numpy as np
        except ImportError:
            return
        np_state = state["numpy"]
        np.random.set_state({
            "bit_generator": np_state["bit_generator"],
            "state": {"key": np_state["key"].numpy().astype("uint32"), "pos": np_state["pos"]},
            "has_gauss": np_state["has_gauss"],
            "gauss": np_state["gauss"],
        })


def _python_state(state: tuple[Any, ...]) -> list[Any]:
    version, internal, gauss = state
    return [version, list(internal), gauss]
