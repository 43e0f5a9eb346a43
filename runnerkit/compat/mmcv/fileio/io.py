"""mmcv's ``dump`` and ``load``: json, yaml and pickle by file extension or ``file_format``."""

from __future__ import annotations

import io
from pathlib import Path
from typing import IO, Any

from runnerkit.compat.mmcv.fileio.file_client import FileClient
from runnerkit.compat.mmcv.fileio.handlers import BaseFileHandler, JsonHandler, PickleHandler, YamlHandler

__all__ = ["dump", "file_handlers", "load", "register_handler"]

file_handlers: dict[str, BaseFileHandler] = {
    "json": JsonHandler(), "yaml": YamlHandler(), "yml": YamlHandler(), "pickle": PickleHandler(),
    "pkl": PickleHandler(),
}


def _handler(file: Any, file_format: str | None, action: str) -> BaseFileHandler:
    if file_format is None:
        if not isinstance(file, (str, Path)):
            raise ValueError(f"{action} of a file object needs file_format= (one of {', '.join(file_handlers)})")
        file_format = Path(file).suffix.lstrip(".")
    if file_format not in file_handlers:
        raise TypeError(
            f"Unsupported format: {file_format!r}; {action} supports {', '.join(file_handlers)} "
            "(pass file_format=, or add a handler with register_handler)."
        )
    return file_handlers[file_format]


def load(file: str | Path | IO[Any], file_format: str | None = None,
         file_client_args: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """The object in ``file`` (a local path or a file object), read as ``file_format`` or by its extension.

    Example:
        >>> import json, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "a.json")
        >>> dump({"a": 1}, path); load(path)
        {'a': 1}
    """
    handler = _handler(file, file_format, "load")
    if isinstance(file, (str, Path)):
        client = FileClient.infer_client(file_client_args, file)
        if handler.str_like:
            return handler.load_from_fileobj(io.StringIO(client.get_text(file)), **kwargs)
        return handler.load_from_fileobj(io.BytesIO(client.get(file)), **kwargs)
    if hasattr(file, "read"):
        return handler.load_from_fileobj(file, **kwargs)
    raise TypeError(f'"file" must be a filepath str or a file-object, but got {type(file).__name__}')


def dump(obj: Any, file: str | Path | IO[Any] | None = None, file_format: str | None = None,
         file_client_args: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """Write ``obj`` to ``file`` (path or file object); without ``file`` return it as a str (bytes for pickle)."""
    if file is None and file_format is None:
        raise ValueError("file_format must be specified since file is None")
    handler = _handler(file, file_format, "dump")
    if file is None:
        return handler.dump_to_str(obj, **kwargs)
    if isinstance(file, (str, Path)):
        client = FileClient.infer_client(file_client_args, file)
        if handler.str_like:
            buffer = io.StringIO()
            handler.dump_to_fileobj(obj, buffer, **kwargs)
            client.put_text(buffer.getvalue(), file)
        else:
            raw = io.BytesIO()
            handler.dump_to_fileobj(obj, raw, **kwargs)
            client.put(raw.getvalue(), file)
        return None
    if hasattr(file, "write"):
        handler.dump_to_fileobj(obj, file, **kwargs)
        return None
    raise TypeError(f'"file" must be a filename str or a file-object, but got {type(file).__name__}')


def register_handler(file_formats: str | list[str], **kwargs: Any) -> Any:
    """Decorator: register a :class:`BaseFileHandler` subclass for ``file_formats``."""

    def wrap(cls: type[BaseFileHandler]) -> type[BaseFileHandler]:
        if not issubclass(cls, BaseFileHandler):
            raise TypeError(f"handler must be a child of BaseFileHandler, not {cls}")
        formats = [file_formats] if isinstance(file_formats, str) else list(file_formats)
        for ext in formats:
            file_handlers[ext] = cls(**kwargs)
        return cls

    return wrap
