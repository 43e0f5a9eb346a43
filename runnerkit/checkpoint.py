"""Checkpoint files: atomic writes, a latest pointer that works without symlinks, safe loading,
and the RNG states a run needs to continue exactly.

A checkpoint is a dict with mmcv's keys ``meta``, ``state_dict`` and ``optimizer`` plus
``runnerkit`` (loop position, RNG states, hook states). Everything in it loads with
``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import collections
import contextlib
import os
import pickle
import random
import re
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any, Literal

import torch

from runnerkit._disk import full_disk_error
from runnerkit._errors import CheckpointError
from runnerkit.workdir import LAST_CHECKPOINT, LATEST_LINK, TMP_PREFIX, find_latest

__all__ = [
    "LAST_CHECKPOINT",
    "LATEST_LINK",
    "CheckpointError",
    "atomic_save",
    "find_latest",
    "get_rng_state",
    "load_file",
    "load_optimizer_state",
    "load_weights",
    "plain",
    "set_rng_state",
    "to_cpu",
    "write_latest",
]

def atomic_save(obj: Any, path: str) -> None:
    """Write ``obj`` to ``path`` so that a crash never leaves a half-written file at ``path``.

    The data goes to a temporary file in the same folder, is flushed to disk, then renamed over
    ``path`` in one step. A kill in between leaves a ``.tmp-*`` file, which the next run in that
    folder removes (:func:`runnerkit.workdir.clean_tmp_files`) and which is never a checkpoint.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with _replacing(path, "wb") as fh:
        torch.save(obj, fh)
    _fsync_dir(directory)


@contextlib.contextmanager
def _replacing(path: str, mode: str) -> Iterator[IO[Any]]:
    """A temporary file in ``path``'s folder that replaces ``path`` in one step, flushed to disk, once the block ends.

    On any error the temporary file is removed and ``path`` is untouched; a full disk is one
    :class:`CheckpointError` naming the file system (:func:`runnerkit._disk.full_disk_error`).
    """
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=TMP_PREFIX, suffix=".tmp")
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        full = full_disk_error(path, err)
        if full is not None:
            raise full from None
        raise


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
    """Point ``last_checkpoint`` (and, where possible, the ``latest.pth`` symlink) at ``filename``.

    For a sharded checkpoint folder only ``last_checkpoint`` moves (an older ``latest.pth`` is removed).
    """
    with _replacing(os.path.join(directory, LAST_CHECKPOINT), "w") as fh:
        fh.write(filename + "\n")
    link = os.path.join(directory, LATEST_LINK)
    if os.path.isdir(os.path.join(directory, filename)):  # a sharded checkpoint folder: `latest.pth` names files only
        with contextlib.suppress(FileNotFoundError):
            os.unlink(link)
        return
    try:
        tmp_link = link + ".tmp"
        if os.path.lexists(tmp_link):
            os.unlink(tmp_link)
        os.symlink(filename, tmp_link)
        os.replace(tmp_link, link)
    except (OSError, NotImplementedError):
        pass  # no symlinks here (Windows without privileges, some network file systems)


def load_file(path: str, map_location: Any = "cpu", weights_only: bool = True) -> dict[str, Any]:
    """Load a checkpoint, by default with ``weights_only=True`` (no code runs while loading).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CheckpointError: the file is empty, truncated, not a checkpoint (text, random bytes, a
            pickled list, ...) or, with ``weights_only``, a checkpoint holding pickled Python
            objects (only then does the message mention ``weights_only=False``).
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Checkpoint `{path}` does not exist; check the path (or the work dir's `last_checkpoint`).")
    if os.path.getsize(path) == 0:
        raise CheckpointError(path, "is empty (0 bytes): the save that wrote it never finished, or a copy of it failed. "
                              "Use another checkpoint.")
    try:
        with warnings.catch_warnings():  # torch's note on a foreign pickle protocol: the error below says more
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            ckpt = torch.load(path, map_location=map_location, weights_only=weights_only)
    except (PermissionError, IsADirectoryError, FileNotFoundError):
        raise
    except Exception as err:
        raise CheckpointError(path, _why_unreadable(path, err, weights_only)) from err
    if not isinstance(ckpt, Mapping):
        raise CheckpointError(
            path, f"holds a {type(ckpt).__name__}, not a checkpoint: expected a dict with a `state_dict` (what "
            "`runner.save_checkpoint` writes) or a model's state dict."
        )
    return dict(ckpt)


_LEGACY_MAGIC = b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19"


def _torch_format(path: str) -> str | None:
    """``"zip"`` or ``"legacy"`` when the file starts like something ``torch.save`` writes, else None."""
    with open(path, "rb") as fh:
        head = fh.read(len(_LEGACY_MAGIC))
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head == _LEGACY_MAGIC:
        return "legacy"
    return None


def _why_unreadable(path: str, err: BaseException, weights_only: bool) -> str:
    first = (str(err).strip().splitlines() or [type(err).__name__])[0]
    form = _torch_format(path)
    size = os.path.getsize(path)
    if form is not None and weights_only and isinstance(err, pickle.UnpicklingError):
        found = re.search(r"GLOBAL ([\w.]+)|global (?:\S+ )?`?([\w.]+)`? (?:was not|is not)", str(err))
        if found or "global" in str(err).lower():
            name = next((g for g in found.groups() if g), "") if found else ""
            what = f" (`{name}`)" if name else ""
            return (
                f"holds pickled Python objects{what} that `weights_only=True` refuses to load. Loading it would run "
                "code from the file: only if you trust its source, pass `weights_only=False` to `runner.resume` / "
                "`runner.load_checkpoint` (the command line never does)."
            )
    if form is not None:
        return (f"is damaged: it starts like a file `torch.save` wrote, but cannot be read ({size} bytes; {first}). "
                "It was probably truncated by an interrupted copy or save; use another checkpoint.")
    with open(path, "rb") as fh:
        head = fh.read(256)
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and all(c.isprintable() or c.isspace() for c in text):
        start = " ".join(text.split())[:40]
        return f"is a text file, not a checkpoint (it starts with `{start}`); give the `.pth` file `torch.save` wrote."
    return (f"is not a checkpoint: it is neither a zip archive nor a legacy file written by `torch.save` ({size} bytes; "
            f"{first}). Give the `.pth` file `torch.save` wrote.")


def load_weights(
    module: torch.nn.Module,
    checkpoint: Mapping[str, Any],
    path: str,
    *,
    strict: bool | Literal["fit"],
    revise_keys: Sequence[tuple[str, str]] = (),
) -> tuple[list[str], list[str]]:
    """Load a checkpoint's ``state_dict`` (or the checkpoint itself, if it is one) into ``module``.

    With ``strict=False`` tensors whose shape differs from the model's are skipped with a warning
    that lists them (as mmcv); missing and unexpected keys are returned. With ``strict=True`` any
    difference is a :class:`CheckpointError`. ``strict="fit"`` (``resume``) loads as ``False`` but
    refuses, as ``True`` does, a checkpoint whose tensors have other shapes or that shares no key
    with the model (it is another model's); keys only one side has are returned.

    Returns:
        ``(missing_keys, unexpected_keys)``.

    Raises:
        CheckpointError: the checkpoint has no usable state dict, or (``strict``) does not fit.
    """
    state = checkpoint.get("state_dict", checkpoint)
    if not isinstance(state, Mapping):
        raise CheckpointError(path, f"has a `state_dict` that is a {type(state).__name__}, not a mapping of names to tensors.")
    if "state_dict" not in checkpoint and not any(isinstance(v, torch.Tensor) for v in state.values()):
        keys = ", ".join(f"`{k}`" for k in list(state)[:8]) or "no keys"
        raise CheckpointError(path, f"has no `state_dict` and holds no tensors ({keys}): it is not a model checkpoint.")
    revised = revise_state_keys({str(k): v for k, v in state.items()}, revise_keys)
    metadata = getattr(state, "_metadata", None)
    if metadata is not None:  # the per-module versions, under the revised module names
        metadata = revise_state_keys(_with_metadata({}, metadata), revise_keys)._metadata  # type: ignore[attr-defined]
    state = dict(revised)
    own = module.state_dict()
    skipped = [
        k for k, v in state.items()
        if k in own and isinstance(v, torch.Tensor) and isinstance(own[k], torch.Tensor) and v.shape != own[k].shape
    ]
    mismatched = [f"{k}: checkpoint {tuple(state[k].shape)}, model {tuple(own[k].shape)}" for k in skipped]
    if strict == "fit":  # refused as strict when the shapes differ or it is another model's
        strict = bool(mismatched) or (bool(own) and not any(k in own for k in state))
    if strict:
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        problems = [f"different shapes for {'; '.join(mismatched)}"] if mismatched else []
        problems += [f"missing keys {_listed(missing)}"] if missing else []
        problems += [f"unexpected keys {_listed(unexpected)}"] if unexpected else []
        if problems:
            raise CheckpointError(path, f"does not fit the model ({type(module).__name__}): {'; '.join(problems)}. "
                                  "It was saved from another model or configuration.")
    if mismatched:
        warnings.warn(
            f"Checkpoint `{path}`: skipped {len(mismatched)} tensor(s) whose shape differs from the model's: "
            f"{'; '.join(mismatched)}.",
            UserWarning,
            stacklevel=3,
        )
        state = {k: v for k, v in state.items() if k not in skipped}
    if metadata is not None:
        state = collections.OrderedDict(state)
        state._metadata = metadata  # type: ignore[attr-defined]
    try:
        result = module.load_state_dict(state, strict=strict)
    except RuntimeError as err:
        detail = " ".join(str(err).split())
        raise CheckpointError(path, f"does not fit the model ({type(module).__name__}): {detail}") from err
    return list(result.missing_keys), list(result.unexpected_keys)


_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def local_dir(path: str | os.PathLike[str], name: str = "out_dir") -> str:
    """``path`` as a str, or a ValueError when it is a URL (``s3://...``): checkpoints go to local folders.

    Example:
        >>> local_dir("s3://bucket/work")
        Traceback (most recent call last):
        ...
        ValueError: `out_dir` is the URL `s3://bucket/work`, but runnerkit writes checkpoints to local folders only (mmcv's file clients for `s3://` are not supported). Give a local folder and copy the files to remote storage afterwards (docs/migration.md, 'Checkpoints on remote storage').
    """
    text = os.fspath(path)
    found = _URL.match(text)
    if found:
        raise ValueError(
            f"`{name}` is the URL `{text}`, but runnerkit writes checkpoints to local folders only (mmcv's file "
            f"clients for `{found.group(1)}://` are not supported). Give a local folder and copy the files to "
            "remote storage afterwards (docs/migration.md, 'Checkpoints on remote storage')."
        )
    return text


def _listed(keys: Sequence[str], most: int = 6) -> str:
    shown = ", ".join(keys[:most])
    return shown + (f" and {len(keys) - most} more" if len(keys) > most else "")


def load_optimizer_state(optimizer: Any, state: Any, path: str, name: str | None = None) -> None:
    """``optimizer.load_state_dict(state)``; an unfitting state is a :class:`CheckpointError` naming ``path``."""
    try:
        optimizer.load_state_dict(state)
    except (ValueError, KeyError, TypeError, IndexError, RuntimeError) as err:
        which = f"optimizer `{name}`" if name else "optimizer"
        raise CheckpointError(
            path, f"holds an optimizer state that does not fit the {which} ({type(optimizer).__name__}): {err}. It was "
            "saved with other parameters or another optimizer; resume without the optimizer state, or use another file."
        ) from err


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


def revise_state_keys(state: Mapping[str, Any], patterns: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """``state`` with ``re.sub(pattern, repl, key)`` applied to every key, for each pair in ``patterns``.

    The per-module versions in a state dict's ``_metadata`` are kept, their module names revised
    the same way (``module.backbone`` -> ``backbone``), so that ``load_state_dict`` does not take
    current-version weights for old ones and run version conversions on them.

    Example:
        >>> import collections
        >>> sd = collections.OrderedDict([("module.fc.weight", 1)])
        >>> sd._metadata = {"module": {"version": 1}, "module.fc": {"version": 1}}
        >>> out = revise_state_keys(sd, [(r"^module\\.", "")])
        >>> list(out), dict(out._metadata)
        (['fc.weight'], {'': {'version': 1}, 'fc': {'version': 1}})
    """
    out: Any = collections.OrderedDict(state.items())
    metadata = getattr(state, "_metadata", None)
    for pattern, repl in patterns:
        out = collections.OrderedDict((re.sub(pattern, repl, k), v) for k, v in out.items())
        if metadata is not None:
            metadata = collections.OrderedDict((_revise_module_name(k, pattern, repl), v) for k, v in metadata.items())
    if metadata is not None:
        out._metadata = metadata
    return out  # type: ignore[no-any-return]


def _with_metadata(state: dict[str, Any], metadata: Any) -> collections.OrderedDict[str, Any]:
    out: collections.OrderedDict[str, Any] = collections.OrderedDict(state)
    out._metadata = metadata  # type: ignore[attr-defined]
    return out


def _revise_module_name(name: str, pattern: str, repl: str) -> str:
    # a module name is its keys' prefix without the trailing dot: revise it as one
    revised = re.sub(pattern, repl, f"{name}.")
    return revised[:-1] if revised.endswith(".") else revised

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
