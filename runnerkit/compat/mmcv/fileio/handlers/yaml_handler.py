"""YAML files through PyYAML."""

from __future__ import annotations

from typing import IO, Any

from runnerkit.compat.mmcv.fileio.handlers.base import BaseFileHandler

__all__ = ["YamlHandler"]


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
