"""mmcv 1.x's module-level checkpoint functions, on runnerkit's checkpoint files.

Files are read with ``torch.load(..., weights_only=True)`` (no code from the file runs; pass
``weights_only=False`` to the loaders for a trusted file that needs it) and written atomically.
A state dict's ``_metadata`` (the per-module versions) is kept when keys are revised.
"""

from __future__ import annotations

import glob
import inspect
import logging
import os
import re
import tempfile
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import torch

from runnerkit import checkpoint as ckpt_io
from runnerkit._version import __version__
from runnerkit.compat.mmcv.parallel.utils import is_module_wrapper

__all__ = [
    "CheckpointLoader",
    "_load_checkpoint",
    "_load_checkpoint_with_prefix",
    "get_state_dict",
    "load_checkpoint",
    "load_from_http",
    "load_from_local",
    "load_from_pavi",
    "load_from_torchvision",
    "load_state_dict",
    "save_checkpoint",
    "weights_to_cpu",
]

Loader = Callable[..., Any]
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def _unwrap(module: torch.nn.Module) -> torch.nn.Module:
    while is_module_wrapper(module):
        inner = module.module
        assert isinstance(inner, torch.nn.Module)
        module = inner
    return module


def weights_to_cpu(state_dict: dict[str, Any]) -> OrderedDict[str, Any]:
    """A copy of ``state_dict`` with every tensor on the CPU, keeping its ``_metadata``."""
    out: OrderedDict[str, Any] = OrderedDict((k, v.cpu() if isinstance(v, torch.Tensor) else v) for k, v in state_dict.items())
    metadata = getattr(state_dict, "_metadata", None)
    if metadata is not None:
        out._metadata = metadata  # type: ignore[attr-defined]
    return out


def get_state_dict(module: torch.nn.Module, destination: OrderedDict[str, Any] | None = None, prefix: str = "",
                   keep_vars: bool = False) -> OrderedDict[str, Any]:
    """The state dict of ``module`` with every module wrapper (DataParallel, DDP, ...) inside it unwrapped.

    Keys are those of the unwrapped modules (no ``module.`` parts), and ``_metadata`` holds each
    module's version, as ``torch.nn.Module.state_dict`` does.
    """
    module = _unwrap(module)
    if destination is None:
        destination = OrderedDict()
        destination._metadata = OrderedDict()  # type: ignore[attr-defined]
    local_metadata = {"version": module._version}
    destination._metadata[prefix[:-1]] = local_metadata  # type: ignore[attr-defined]
    module._save_to_state_dict(destination, prefix, keep_vars)
    for name, child in module._modules.items():
        if child is not None:
            get_state_dict(child, destination, f"{prefix}{name}.", keep_vars=keep_vars)
    for hook in module._state_dict_hooks.values():
        result = hook(module, destination, prefix, local_metadata)
        if result is not None:
            destination = result
    return destination


def load_state_dict(module: torch.nn.Module, state_dict: dict[str, Any], strict: bool = False,
                    logger: logging.Logger | None = None) -> None:
    """Load ``state_dict`` into ``module`` (wrappers inside it unwrapped), reporting mismatched keys.

    Missing ``num_batches_tracked`` buffers are not reported (old BatchNorm checkpoints lack them).

    Raises:
        RuntimeError: ``strict`` and the keys do not match, or a tensor's shape differs.
    """
    unexpected: list[str] = []
    missing: list[str] = []
    errors: list[str] = []
    metadata = getattr(state_dict, "_metadata", None)
    state = dict(state_dict)

    def load(mod: torch.nn.Module, prefix: str = "") -> None:
        mod = _unwrap(mod)
        local_metadata = {} if metadata is None else metadata.get(prefix[:-1], {})
        mod._load_from_state_dict(state, prefix, local_metadata, True, missing, unexpected, errors)
        for name, child in mod._modules.items():
            if child is not None:
                load(child, f"{prefix}{name}.")

    load(module)
    # `_load_from_state_dict` reports keys under its own prefix only; the rest are unexpected.
    expected = set(get_state_dict(module).keys())
    unexpected = [k for k in state if k not in expected]
    missing = [k for k in missing if "num_batches_tracked" not in k]
    messages = []
    if unexpected:
        messages.append(f"unexpected key in source state_dict: {', '.join(unexpected)}\n")
    if missing:
        messages.append(f"missing keys in source state_dict: {', '.join(missing)}\n")
    messages.extend(errors)
    if not messages:
        return
    text = "The model and loaded state dict do not match exactly\n\n" + "\n".join(messages)
    if strict:
        raise RuntimeError(text)
    (logger or logging.getLogger("runnerkit")).warning(text)


# -- loading files by scheme ------------------------------------------------------------------


def _takes_weights_only(loader: Loader) -> bool:
    try:
        params = inspect.signature(loader).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "weights_only" or p.kind is p.VAR_KEYWORD for p in params)


def _hub_checkpoints() -> str:
    return os.path.join(torch.hub.get_dir(), "checkpoints")


class CheckpointLoader:
    """Loads checkpoints by the scheme of their name (``torchvision://``, ``https://``, a local path).

    ``register_scheme(prefixes, loader)`` adds a scheme; the longest matching prefix wins.
    Built in: local paths and ``file://``; ``torchvision://``/``modelzoo://`` and ``http(s)://``
    read torch.hub's local cache (``torch.hub.get_dir()/checkpoints``) and never download.

    Example:
        >>> @CheckpointLoader.register_scheme(prefixes="mem://")
        ... def load_from_memory(filename, map_location=None, weights_only=True):
        ...     return {"state_dict": {}}
    """

    _schemes: ClassVar[dict[str, Loader]] = {}

    @classmethod
    def _register(cls, prefixes: str | Sequence[str], loader: Loader, force: bool = False) -> None:
        if isinstance(prefixes, str):
            prefixes = [prefixes]
        for prefix in prefixes:
            if prefix in cls._schemes and not force:
                raise KeyError(f"{prefix} is already registered as a loader backend, add \"force=True\" if you want to override it")
            cls._schemes[prefix] = loader
        cls._schemes = dict(sorted(cls._schemes.items(), key=lambda kv: len(kv[0]), reverse=True))

    @classmethod
    def register_scheme(cls, prefixes: str | Sequence[str], loader: Loader | None = None,
                        force: bool = False) -> Callable[[Loader], Loader] | Loader:
        """Register ``loader(filename, map_location)`` for names starting with ``prefixes`` (or decorate one)."""
        if loader is not None:
            cls._register(prefixes, loader, force=force)
            return loader

        def decorator(fn: Loader) -> Loader:
            cls._register(prefixes, fn, force=force)
            return fn

        return decorator

    @classmethod
    def _get_checkpoint_loader(cls, path: str) -> Loader:
        for prefix, loader in cls._schemes.items():
            if prefix == "" and _URL.match(path):
                break  # a URL of a scheme nobody registered is not a local file
            if re.match(prefix, path) is not None:
                return loader
        scheme = path.split("://", 1)[0]
        raise ValueError(
            f"No checkpoint loader for `{path}`: the scheme `{scheme}://` is not supported here (runnerkit reads "
            f"local files, `file://`, and torchvision/http(s) checkpoints already in torch.hub's cache); download "
            f"the file and pass its path, or add a loader with `CheckpointLoader.register_scheme('{scheme}://', fn)`."
        )

    @classmethod
    def load_checkpoint(cls, filename: str, map_location: Any = None, logger: logging.Logger | None = None,
                        weights_only: bool = True) -> Any:
        """Load ``filename`` with the loader registered for its scheme."""
        loader = cls._get_checkpoint_loader(filename)
        (logger or logging.getLogger("runnerkit")).info("load checkpoint from %s path: %s", loader.__name__, filename)
        if _takes_weights_only(loader):
            return loader(filename, map_location, weights_only=weights_only)
        return loader(filename, map_location)  # an mmcv-style loader: (filename, map_location)


def load_from_local(filename: str, map_location: Any = None, weights_only: bool = True) -> Any:
    """A local file (``~`` expanded)."""
    path = os.path.expanduser(filename)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} can not be found.")
    return ckpt_io.load_file(path, map_location or "cpu", weights_only)


CheckpointLoader.register_scheme("", load_from_local)

def load_from_file_url(filename: str, map_location: Any = None, weights_only: bool = True) -> Any:
    """A ``file://`` URL."""
    return load_from_local(urllib.parse.unquote(urllib.parse.urlparse(filename).path), map_location, weights_only)


CheckpointLoader.register_scheme("file://", load_from_file_url)

def load_from_http(filename: str, map_location: Any = None, weights_only: bool = True) -> Any:
    """An http(s) checkpoint that torch.hub has downloaded before (runnerkit does not download)."""
    name = os.path.basename(urllib.parse.urlparse(filename).path)
    path = os.path.join(_hub_checkpoints(), name)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"`{filename}` is not in torch.hub's cache (looked for `{path}`); runnerkit does not download "
            f"checkpoints. Fetch it once with `torch.hub.load_state_dict_from_url({filename!r})` (or put the file "
            "there), then load it again."
        )
    return load_from_local(path, map_location, weights_only)


CheckpointLoader.register_scheme(("http://", "https://"), load_from_http)

def load_from_torchvision(filename: str, map_location: Any = None, weights_only: bool = True) -> Any:
    """``torchvision://<model>`` (e.g. ``resnet50``) from torch.hub's cache of torchvision weights."""
    model = filename.split("://", 1)[1]
    found = sorted(glob.glob(os.path.join(_hub_checkpoints(), f"{glob.escape(model)}-*.pth")), key=os.path.getmtime)
    if not found:
        raise FileNotFoundError(
            f"`{filename}`: no `{model}-*.pth` in torch.hub's cache `{_hub_checkpoints()}`; runnerkit does not "
            f"download checkpoints. Fetch the weights once with torchvision (e.g. `torchvision.models.{model}"
            "(weights=\"DEFAULT\")`) or put the file there, then load it again."
        )
    return load_from_local(found[-1], map_location, weights_only)


CheckpointLoader.register_scheme(("torchvision://", "modelzoo://"), load_from_torchvision)

def load_from_pavi(filename: str, map_location: Any = None, weights_only: bool = True) -> Any:
    """``pavi://<model path>``: downloaded with the PAVI client (``pavi.modelcloud``), then read.

    Raises:
        ValueError: ``filename`` does not start with ``pavi://``.
        ImportError: the PAVI client is not installed.
        FileNotFoundError: PAVI gave no file for the path.
    """
    if not filename.startswith("pavi://"):
        raise ValueError(f"load_from_pavi expects a `pavi://` path, got {filename!r}.")
    try:
        from pavi import modelcloud  # type: ignore[import-not-found]
    except ImportError as err:
        raise ImportError(f"`{filename}` needs the PAVI client: pip install pavi") from err
    model_path = filename[len("pavi://"):]
    model = modelcloud.get(model_path)
    with tempfile.TemporaryDirectory() as tmp_dir:
        local = os.path.join(tmp_dir, model.name)
        model.download(local)
        if not os.path.isfile(local):
            raise FileNotFoundError(f"PAVI gave no file for `{filename}` (downloaded to {local}).")
        return ckpt_io.load_file(local, map_location or "cpu", weights_only)


CheckpointLoader.register_scheme("pavi://", load_from_pavi)

def _load_checkpoint(filename: str | os.PathLike[str], map_location: Any = None, logger: logging.Logger | None = None,
                     weights_only: bool = True) -> Any:
    """The checkpoint object in ``filename`` (any registered scheme)."""
    return CheckpointLoader.load_checkpoint(os.fspath(filename), map_location, logger, weights_only=weights_only)


def _load_checkpoint_with_prefix(prefix: str, filename: str | os.PathLike[str], map_location: Any = None) -> OrderedDict[str, Any]:
    """The weights under ``prefix`` (e.g. ``"backbone."``) of a checkpoint, with the prefix removed.

    Raises:
        ValueError: no key starts with ``prefix``.
    """
    checkpoint = _load_checkpoint(filename, map_location=map_location)
    state = checkpoint.get("state_dict", checkpoint)
    if not prefix.endswith("."):
        prefix += "."
    out: OrderedDict[str, Any] = OrderedDict((k[len(prefix):], v) for k, v in state.items() if k.startswith(prefix))
    if not out:
        raise ValueError(f"{prefix} is not in the pretrained model: no key of `{os.fspath(filename)}` starts with it.")
    return out


def load_checkpoint(model: torch.nn.Module, filename: str | os.PathLike[str], map_location: Any = None, strict: bool = False,
                    logger: logging.Logger | None = None, revise_keys: Sequence[tuple[str, str]] = ((r"^module\.", ""),),
                    weights_only: bool = True) -> dict[str, Any]:
    """Load the weights of ``filename`` into ``model`` and return the whole checkpoint (mmcv).

    Args:
        model: the model (wrappers are unwrapped).
        filename: a local path, ``file://``, ``torchvision://``, ``http(s)://`` or a registered scheme.
        map_location: passed to ``torch.load`` (default: the CPU).
        strict: raise when the keys do not match.
        logger: where mismatched keys are reported.
        revise_keys: ``(pattern, replacement)`` regexes applied to every key (and to the per-module
            versions in ``_metadata``, which are kept).
        weights_only: load with ``torch.load(weights_only=True)``; pass False only for a trusted file.
    """
    checkpoint = _load_checkpoint(filename, map_location, logger, weights_only=weights_only)
    if not isinstance(checkpoint, dict):
        raise RuntimeError(f"No state_dict found in checkpoint file {os.fspath(filename)}")
    state = checkpoint.get("state_dict", checkpoint)
    load_state_dict(model, ckpt_io.revise_state_keys(state, revise_keys), strict, logger)
    return checkpoint


def save_checkpoint(model: torch.nn.Module, filename: str | os.PathLike[str], optimizer: Any = None,
                    meta: dict[str, Any] | None = None) -> None:
    """Write ``model``'s weights (and ``optimizer``'s state) to ``filename`` atomically (mmcv).

    ``meta`` gets ``runnerkit_version``, ``time`` and, when the model has them, its ``CLASSES``.

    Raises:
        TypeError: ``meta`` is not a dict.
        ValueError: ``filename`` is a URL (only local files are written).
    """
    if meta is None:
        meta = {}
    elif not isinstance(meta, dict):
        raise TypeError(f"meta must be a dict or None, but got {type(meta)}")
    path = os.fspath(filename)
    if _URL.match(path):
        raise ValueError(f"save_checkpoint writes local files only, got the URL `{path}`; save locally and upload it yourself.")
    meta = dict(meta, runnerkit_version=__version__, time=time.asctime())
    model = _unwrap(model)
    if getattr(model, "CLASSES", None) is not None:
        meta.setdefault("CLASSES", model.CLASSES)
    checkpoint: dict[str, Any] = {"meta": ckpt_io.plain(meta), "state_dict": weights_to_cpu(get_state_dict(model))}
    if isinstance(optimizer, torch.optim.Optimizer):
        checkpoint["optimizer"] = optimizer.state_dict()
    elif isinstance(optimizer, dict):
        checkpoint["optimizer"] = {name: opt.state_dict() for name, opt in optimizer.items()}
    ckpt_io.atomic_save(checkpoint, path)
