"""JSON files (sets, ranges and NumPy values written as lists and numbers)."""

from __future__ import annotations

import json
from typing import IO, Any

from runnerkit.compat.mmcv.fileio.handlers.base import BaseFileHandler

__all__ = ["JsonHandler", "set_default"]


def set_default(obj: Any) -> Any:
    """Sets, tuples and NumPy values as JSON, as mmcv's ``set_default``."""
    if isinstance(obj, (set, range)):
        return list(obj)
    tolist = getattr(obj, "tolist", None)  # numpy arrays and scalars
    if callable(tolist):
        return tolist()
    raise TypeError(f"{type(obj)} is unsupported for json dump")


class JsonHandler(BaseFileHandler):
    def load_from_fileobj(self, file: IO[Any], **kwargs: Any) -> Any:
        return json.load(file, **kwargs)

    def dump_to_fileobj(self, obj: Any, file: IO[Any], **kwargs: Any) -> None:
        kwargs.setdefault("default", set_default)
        json.dump(obj, file, **kwargs)

    def dump_to_str(self, obj: Any, **kwargs: Any) -> str:
        kwargs.setdefault("default", set_default)
        return json.dumps(obj, **kwargs)
