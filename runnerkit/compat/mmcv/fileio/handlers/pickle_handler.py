"""Pickle files."""

from __future__ import annotations

import pickle
from typing import IO, Any

from runnerkit.compat.mmcv.fileio.handlers.base import BaseFileHandler

__all__ = ["PickleHandler"]


class PickleHandler(BaseFileHandler):
    """Pickle files. Loading runs code from the file: only load pickles you trust."""

    str_like = False

    def load_from_fileobj(self, file: IO[Any], **kwargs: Any) -> Any:
        return pickle.load(file, **kwargs)

    def dump_to_fileobj(self, obj: Any, file: IO[Any], **kwargs: Any) -> None:
        kwargs.setdefault("protocol", 2)
        pickle.dump(obj, file, **kwargs)

    def dump_to_str(self, obj: Any, **kwargs: Any) -> bytes:
        kwargs.setdefault("protocol", 2)
        return pickle.dumps(obj, **kwargs)
