"""mmcv's ``BaseFileHandler``: how ``dump``/``load`` read and write one format."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

__all__ = ["BaseFileHandler"]


class BaseFileHandler:
    """One file format: ``load_from_fileobj``, ``dump_to_fileobj`` and ``dump_to_str`` (mmcv's interface)."""

    str_like = True  # text mode, else binary

    def load_from_fileobj(self, file: IO[Any], **kwargs: Any) -> Any:
        raise NotImplementedError

    def dump_to_fileobj(self, obj: Any, file: IO[Any], **kwargs: Any) -> None:
        raise NotImplementedError

    def dump_to_str(self, obj: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def load_from_path(self, filepath: str | Path, mode: str = "r", **kwargs: Any) -> Any:
        with open(filepath, mode if self.str_like else "rb", encoding="utf-8" if self.str_like else None) as f:
            return self.load_from_fileobj(f, **kwargs)

    def dump_to_path(self, obj: Any, filepath: str | Path, mode: str = "w", **kwargs: Any) -> None:
        with open(filepath, mode if self.str_like else "wb", encoding="utf-8" if self.str_like else None) as f:
            self.dump_to_fileobj(obj, f, **kwargs)
