"""mmcv's file handlers: how ``dump``/``load`` read and write one format (json, yaml, pickle)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import IO, Any

__all__ = ["BaseFileHandler", "JsonHandler", "PickleHandler", "YamlHandler"]


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


def _json_default(obj: Any) -> Any:
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
        kwargs.setdefault("default", _json_default)
        json.dump(obj, file, **kwargs)

    def dump_to_str(self, obj: Any, **kwargs: Any) -> str:
        kwargs.setdefault("default", _json_default)
        return json.dumps(obj, **kwargs)


class YamlHandler(BaseFileHandler):
    """YAML through PyYAML (``pip install pyyaml``); loads with the safe loader."""

    @staticmethod
    def _yaml() -> Any:
        try:
            import yaml
        except ImportError as err:
            raise ImportError("Reading or writing YAML needs PyYAML: `pip install pyyaml`.") from err
        return yaml

    def load_from_fileobj(self, file: IO[Any], **kwargs: Any) -> Any:
        yaml = self._yaml()
        kwargs.setdefault("Loader", yaml.SafeLoader)
        return yaml.load(file, **kwargs)

    def dump_to_fileobj(self, obj: Any, file: IO[Any], **kwargs: Any) -> None:
        self._yaml().safe_dump(obj, file, **kwargs)

    def dump_to_str(self, obj: Any, **kwargs: Any) -> str:
        return self._yaml().safe_dump(obj, **kwargs)  # type: ignore[no-any-return]


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
