"""mmcv 1.x's ``mmcv.fileio``: ``dump``/``load`` (json, yaml, pickle), ``list_from_file``,
``dict_from_file`` and a local-disk ``FileClient``."""

from __future__ import annotations

from runnerkit.compat.mmcv.fileio.file_client import BaseStorageBackend, FileClient, HardDiskBackend
from runnerkit.compat.mmcv.fileio.handlers import BaseFileHandler, JsonHandler, PickleHandler, YamlHandler
from runnerkit.compat.mmcv.fileio.io import dump, load, register_handler
from runnerkit.compat.mmcv.fileio.parse import dict_from_file, list_from_file

__all__ = [
    "BaseFileHandler",
    "BaseStorageBackend",
    "FileClient",
    "HardDiskBackend",
    "JsonHandler",
    "PickleHandler",
    "YamlHandler",
    "dict_from_file",
    "dump",
    "list_from_file",
    "load",
    "register_handler",
]
