"""mmcv's path helpers: ``mkdir_or_exist``, ``symlink``, ``scandir``, ``check_file_exist``, ``fopen``, ..."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["check_file_exist", "find_vcs_root", "fopen", "is_filepath", "mkdir_or_exist", "scandir", "symlink"]


def is_filepath(x: Any) -> bool:
    """Whether ``x`` is a str or a ``Path``."""
    return isinstance(x, (str, Path))


def fopen(filepath: str | Path, *args: Any, **kwargs: Any) -> IO[Any]:
    """``open`` for a str or ``Path``."""
    if is_filepath(filepath):
        return open(filepath, *args, **kwargs)  # type: ignore[no-any-return]
    raise ValueError("`filepath` should be a string or a Path")


def check_file_exist(filename: str | Path, msg_tmpl: str = 'file "{}" does not exist') -> None:
    """Raise ``FileNotFoundError`` unless ``filename`` is a file."""
    if not os.path.isfile(filename):
        raise FileNotFoundError(msg_tmpl.format(filename))


def mkdir_or_exist(dir_name: str | os.PathLike[str], mode: int = 0o777) -> None:
    """Create ``dir_name`` with its parents unless it exists."""
    if dir_name == "":
        return
    os.makedirs(os.path.expanduser(os.fspath(dir_name)), mode=mode, exist_ok=True)


def symlink(src: str | Path, dst: str | Path, overwrite: bool = True, **kwargs: Any) -> None:
    """Make ``dst`` a symbolic link to ``src`` (replacing a link or file at ``dst`` when ``overwrite``)."""
    if os.path.lexists(dst) and overwrite:
        os.remove(dst)
    os.symlink(src, dst, **kwargs)


def scandir(dir_path: str | Path, suffix: str | tuple[str, ...] | None = None,
            recursive: bool = False, case_sensitive: bool = True) -> Iterator[str]:
    """The files under ``dir_path`` (relative paths; hidden ones skipped) that end with ``suffix``."""
    if not isinstance(dir_path, (str, Path)):
        raise TypeError('"dir_path" must be a string or Path object')
    if suffix is not None and not isinstance(suffix, (str, tuple)):
        raise TypeError('"suffix" must be a string or tuple of strings')
    if suffix is not None and not case_sensitive:
        suffix = suffix.lower() if isinstance(suffix, str) else tuple(s.lower() for s in suffix)
    root = str(dir_path)

    def walk(folder: str) -> Iterator[str]:
        for entry in os.scandir(folder):
            if not entry.name.startswith(".") and entry.is_file():
                rel = os.path.relpath(entry.path, root)
                name = rel if case_sensitive else rel.lower()
                if suffix is None or name.endswith(suffix):
                    yield rel
            elif recursive and os.path.isdir(entry.path):
                yield from walk(entry.path)

    return walk(root)


def find_vcs_root(path: str | Path, markers: tuple[str, ...] = (".git",)) -> str | None:
    """The closest folder at or above ``path`` that holds one of ``markers``, or None."""
    current = Path(path).resolve()
    if current.is_file():
        current = current.parent
    for folder in (current, *current.parents):
        if any((folder / marker).exists() for marker in markers):
            return str(folder)
    return None
