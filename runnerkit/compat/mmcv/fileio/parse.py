"""mmcv's ``list_from_file`` and ``dict_from_file``: text files as a list of lines or a dict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runnerkit.compat.mmcv.fileio.file_client import FileClient

__all__ = ["dict_from_file", "list_from_file"]


def list_from_file(filename: str | Path, prefix: str = "", offset: int = 0, max_num: int = 0,
                   encoding: str = "utf-8", file_client_args: dict[str, Any] | None = None) -> list[str]:
    """The lines of ``filename`` (newline removed), each with ``prefix``: skip ``offset``, at most ``max_num`` (0: all)."""
    text = FileClient.infer_client(file_client_args, filename).get_text(filename, encoding)
    lines = text.splitlines()[offset:]
    if max_num > 0:
        lines = lines[:max_num]
    return [prefix + line.rstrip("\n\r") for line in lines]


def dict_from_file(filename: str | Path, key_type: type = str, encoding: str = "utf-8",
                   file_client_args: dict[str, Any] | None = None) -> dict[Any, Any]:
    """``key value [values...]`` lines as a dict: the first column (as ``key_type``) to the rest
    (one value a str, several a list)."""
    mapping: dict[Any, Any] = {}
    text = FileClient.infer_client(file_client_args, filename).get_text(filename, encoding)
    for line in text.splitlines():
        items = line.rstrip("\n").split()
        if len(items) < 2:
            raise ValueError(f"{filename}: the line {line!r} has no value after its key; expected `key value ...`")
        mapping[key_type(items[0])] = items[1:] if len(items) > 2 else items[1]
    return mapping
