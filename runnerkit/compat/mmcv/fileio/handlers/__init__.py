"""mmcv's file handlers for ``dump``/``load``: json, yaml, pickle."""

from __future__ import annotations

from runnerkit.compat.mmcv.fileio.handlers.base import BaseFileHandler
from runnerkit.compat.mmcv.fileio.handlers.json_handler import JsonHandler
from runnerkit.compat.mmcv.fileio.handlers.pickle_handler import PickleHandler
from runnerkit.compat.mmcv.fileio.handlers.yaml_handler import YamlHandler

__all__ = ["BaseFileHandler", "JsonHandler", "PickleHandler", "YamlHandler"]
