"""mmcv's ``FileClient`` for the local disk; other storage backends can be registered, none is built in."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

__all__ = ["BaseStorageBackend", "FileClient", "HardDiskBackend"]

#: mmcv's remote backends, which the layer does not provide
_REMOTE = ("petrel", "ceph", "memcached", "lmdb", "http", "https", "s3")


class BaseStorageBackend:
    """A storage backend: ``get`` (bytes) and ``get_text`` at least (mmcv's interface)."""

    _allow_symlink = False

    @property
    def name(self) -> str:
        return type(self).__name__

    @property
    def allow_symlink(self) -> bool:
        return self._allow_symlink

    def get(self, filepath: str | Path) -> bytes:
        raise NotImplementedError

    def get_text(self, filepath: str | Path, encoding: str = "utf-8") -> str:
        raise NotImplementedError


class HardDiskBackend(BaseStorageBackend):
    """Files on the local disk."""

    _allow_symlink = True

    def get(self, filepath: str | Path) -> bytes:
        return Path(filepath).read_bytes()

    def get_text(self, filepath: str | Path, encoding: str = "utf-8") -> str:
        with open(filepath, encoding=encoding) as f:
            return f.read()

    def put(self, obj: bytes, filepath: str | Path) -> None:
        """Write ``obj``, creating the parent folders."""
        Path(filepath).parent.mkdir(parents=True, exist_ok=True)
        Path(filepath).write_bytes(obj)

    def put_text(self, obj: str, filepath: str | Path, encoding: str = "utf-8") -> None:
        Path(filepath).parent.mkdir(parents=True, exist_ok=True)
        with open(filepath, "w", encoding=encoding) as f:
            f.write(obj)

    def remove(self, filepath: str | Path) -> None:
        os.remove(filepath)

    def exists(self, filepath: str | Path) -> bool:
        return os.path.exists(filepath)

    def isdir(self, filepath: str | Path) -> bool:
        return os.path.isdir(filepath)

    def isfile(self, filepath: str | Path) -> bool:
        return os.path.isfile(filepath)

    def join_path(self, filepath: str | Path, *filepaths: str | Path) -> str:
        return os.path.join(filepath, *filepaths)

    @contextlib.contextmanager
    def get_local_path(self, filepath: str | Path) -> Iterator[str | Path]:
        """The path itself (it is local already)."""
        yield filepath

    def list_dir_or_file(self, dir_path: str | Path, list_dir: bool = True, list_file: bool = True,
                         suffix: str | tuple[str, ...] | None = None, recursive: bool = False) -> Iterator[str]:
        """Relative paths of the folders and/or files under ``dir_path`` (mmcv's order: ``os.scandir``)."""
        if list_dir and suffix is not None:
            raise TypeError("`suffix` should be None when `list_dir` is True")
        root = str(dir_path)

        def walk(folder: str) -> Iterator[str]:
            for entry in os.scandir(folder):
                rel = os.path.relpath(entry.path, root)
                if entry.is_file() and not entry.name.startswith("."):
                    if list_file and (suffix is None or rel.endswith(suffix)):
                        yield rel
                elif entry.is_dir():
                    if list_dir:
                        yield rel
                    if recursive:
                        yield from walk(entry.path)

        return walk(root)


class FileClient:
    """mmcv's ``FileClient``: the same methods as its backend; only ``disk`` is built in.

    Args:
        backend: ``"disk"`` (default) or a name given to :meth:`register_backend`.
        prefix: a URI prefix a registered backend serves (none is built in).

    Raises:
        ValueError: a backend or prefix that is not provided, naming what is.

    Example:
        >>> client = FileClient()
        >>> client.name
        'HardDiskBackend'
    """

    _backends: ClassVar[dict[str, type[BaseStorageBackend]]] = {"disk": HardDiskBackend}
    _prefix_to_backends: ClassVar[dict[str, type[BaseStorageBackend]]] = {}

    def __init__(self, backend: str | None = None, prefix: str | None = None, **kwargs: Any) -> None:
        if backend is None and prefix is None:
            backend = "disk"
        if backend is not None and backend not in self._backends:
            raise ValueError(self._refusal("Backend", backend, list(self._backends)))
        if prefix is not None and prefix not in self._prefix_to_backends:
            raise ValueError(self._refusal("prefix", prefix, list(self._prefix_to_backends)))
        cls = self._backends[backend] if backend is not None else self._prefix_to_backends[str(prefix)]
        self.client = cls(**kwargs)

    @staticmethod
    def _refusal(what: str, name: str, known: list[str]) -> str:
        remote = f" mmcv's `{name}` storage is not provided by runnerkit's mmcv layer (local files only);" \
            if name in _REMOTE else ""
        return (f"{what} {name} is not supported.{remote} Currently supported ones are {known}; "
                "register your own with FileClient.register_backend(name, backend_class, prefixes=...).")

    @property
    def name(self) -> str:
        return self.client.name

    @property
    def allow_symlink(self) -> bool:
        return self.client.allow_symlink

    def __getattr__(self, name: str) -> Any:
        if name == "client":
            raise AttributeError(name)
        return getattr(self.client, name)

    @staticmethod
    def parse_uri_prefix(uri: str | Path) -> str | None:
        """``"s3"`` for ``"s3://bucket/x"``, None for a local path."""
        text = str(uri)
        if "://" not in text:
            return None
        prefix = text.split("://", 1)[0]
        return prefix.split(":")[1] if ":" in prefix else prefix

    @classmethod
    def infer_client(cls, file_client_args: dict[str, Any] | None = None, uri: str | Path | None = None) -> FileClient:
        """A client from ``file_client_args``, else from ``uri``'s prefix (a local path: the disk)."""
        if file_client_args is None and uri is None:
            raise ValueError("infer_client needs file_client_args or uri")
        if file_client_args is None:
            return cls(prefix=cls.parse_uri_prefix(uri))  # type: ignore[arg-type]
        return cls(**file_client_args)

    @classmethod
    def register_backend(cls, name: str, backend: type[BaseStorageBackend] | None = None, force: bool = False,
                         prefixes: str | list[str] | None = None) -> Any:
        """Register a storage backend class under ``name`` (and URI ``prefixes``); a decorator without ``backend``."""

        def add(backend_cls: type[BaseStorageBackend]) -> type[BaseStorageBackend]:
            if not isinstance(name, str):
                raise TypeError(f"the backend name should be a string, but got {type(name)}")
            if not (isinstance(backend_cls, type) and issubclass(backend_cls, BaseStorageBackend)):
                raise TypeError(f"backend should be a subclass of BaseStorageBackend, but got {backend_cls}")
            if name in cls._backends and not force:
                raise KeyError(f"{name} is already registered as a storage backend, add force=True to override it")
            cls._backends[name] = backend_cls
            for prefix in [prefixes] if isinstance(prefixes, str) else (prefixes or []):
                if prefix in cls._prefix_to_backends and not force:
                    raise KeyError(f"{prefix} is already registered as a storage backend, add force=True to override it")
                cls._prefix_to_backends[prefix] = backend_cls
            return backend_cls

        return add(backend) if backend is not None else add
