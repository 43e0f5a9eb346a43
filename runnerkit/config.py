"""Config files: ``.py``, ``.json``, ``.yaml``/``.yml`` and ``.toml`` into plain dicts.

A config describes a whole job in mmcv 1.x's shape (``model``, ``data``, ``optimizer``, hook
configs, ``runner``, ``workflow``, ``work_dir``; see ``docs/config-reference.md``) or only a
``runner`` section for :func:`runnerkit.build`.

- ``.py`` files are **executed** (as mmcv does): their module-level variables are the config.
  Modules, functions and classes bound at module level (``import``/``def``/``class``) are left out.
  Only load ``.py`` configs you trust.
- ``.json``, ``.yaml`` and ``.toml`` files execute nothing. YAML needs ``pip install "runnerkit[yaml]"``.
- ``_base_ = "base.py"`` (or a list) merges the named files first, relative to the config's
  folder; a dict with ``_delete_=True`` replaces the inherited dict instead of merging into it.
  ``{{_base_.a.b}}`` (as mmcv 1.x) stands for the value of ``a.b`` in the merged base files.
  A data config's ``_base_`` may only name data configs: a ``.py`` base is code, and data never
  runs code (docs/security.md).

Example:
    >>> from runnerkit.config import load_config, merge_options, parse_option
    >>> cfg = load_config("configs/demo.py")                               # doctest: +SKIP
    >>> cfg = merge_options(cfg, [parse_option("runner.max_iters=50")])    # doctest: +SKIP
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import sys
import types
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from runnerkit._build import MAX_DEPTH, copy_plain
from runnerkit._errors import ConfigError

__all__ = [
    "BASE_KEY", "ConfigFile", "DELETE_KEY", "load_config", "merge_dicts", "merge_options", "parse_option",
    "parse_value", "read_config", "SUFFIXES",
]


#: File suffixes :func:`load_config` reads.
SUFFIXES = (".py", ".json", ".yaml", ".yml", ".toml")
BASE_KEY = "_base_"
#: a data config holding more values than this is refused (YAML aliases can expand without end).
MAX_ITEMS = 100_000
DELETE_KEY = "_delete_"
#: ``{{ _base_.a.b }}``: a value of the merged base files (mmcv 1.x)
_BASE_REF = re.compile(r"\{\{\s*_base_\.([\w.]+)\s*\}\}")


@dataclasses.dataclass
class ConfigFile:
    """A loaded config and where it came from.

    Attributes:
        data: the config as a plain dict (``_base_`` files merged in).
        path: the file it was read from.
        sources: that file first, then every ``_base_`` file it pulled in (for error locations).
    """

    data: dict[str, Any]
    path: Path
    sources: list[Path]


def load_config(path: str | Path) -> dict[str, Any]:
    """The config in ``path`` as a plain dict (see the module docstring for the formats).

    Raises:
        ConfigError: the file is missing, cannot be parsed, is not a mapping, or has an
            unsupported suffix. The message names the file (and the line where known).
    """
    return read_config(path).data


def read_config(path: str | Path) -> ConfigFile:
    """Like :func:`load_config`, also returning the files the config was assembled from."""
    return _read(Path(path), ())


def _read(path: Path, chain: tuple[Path, ...]) -> ConfigFile:
    if not path.is_file():
        where = "is a folder" if path.is_dir() else "does not exist"
        raise ConfigError(f"Config file `{path}` {where}; give the path of a {'/'.join(SUFFIXES)} file.")
    resolved = path.resolve()
    if resolved in chain:
        cycle = " -> ".join(f"`{p.name}`" for p in (*chain, resolved))
        raise ConfigError(f"Config file `{path}` inherits from itself through `_base_` ({cycle}); break the cycle.")
    data, refs = _parse(path)
    bases = data.pop(BASE_KEY, None)
    sources = [path]
    if bases is None:
        if refs:
            name = next(iter(refs.values()))
            raise ConfigError(f"Config file `{path}` refers to `{{{{_base_.{name}}}}}` but has no `_base_`; "
                              "name the base file(s) in `_base_ = [...]`.")
        return ConfigFile(data, path, sources)
    if isinstance(bases, str):
        bases = [bases]
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        raise ConfigError(f"`_base_` in `{path}` must be a file name or a list of them, got `{bases!r}`.")
    merged: dict[str, Any] = {}
    for base in bases:
        if path.suffix.lower() != ".py" and Path(base).suffix.lower() == ".py":
            raise ConfigError(
                f"`_base_` in the data config `{path}` names the Python config `{base}`; a JSON/YAML/TOML config "
                f"is data and may only inherit from data configs (a `.py` config runs code). Convert `{base}` to "
                f".json/.yaml/.toml, or make `{path.name}` a `.py` config (see docs/security.md)."
            )
        base_file = _read(path.parent / base, (*chain, resolved))
        merged = merge_dicts(merged, base_file.data)
        sources.extend(base_file.sources)
    if refs:
        data = _resolve_refs(data, refs, merged, path)
    return ConfigFile(merge_dicts(merged, data), path, sources)


def _mark_refs(text: str) -> tuple[str, dict[str, str]]:
    """``text`` with each ``{{_base_.a.b}}`` replaced by a quoted marker string, and marker -> ``a.b``."""
    refs: dict[str, str] = {}

    def mark(match: re.Match[str]) -> str:
        marker = f"_base_ref_{len(refs)}_{uuid.uuid4().hex[:8]}"
        refs[marker] = match.group(1)
        return f'"{marker}"'

    return _BASE_REF.sub(mark, text), refs


def _resolve_refs(value: Any, refs: dict[str, str], base: Mapping[str, Any], path: Path) -> Any:
    """``value`` with every marker string replaced by the base value it stands for."""
    if isinstance(value, str) and value in refs:
        node: Any = base
        for part in refs[value].split("."):
            if not isinstance(node, Mapping) or part not in node:
                raise ConfigError(f"Config file `{path}` refers to `{{{{_base_.{refs[value]}}}}}`, but its base "
                                  f"files have no `{refs[value]}` (no key `{part}`); check the name.")
            node = node[part]
        return _deep_copy(node)
    if isinstance(value, Mapping):
        return {k: _resolve_refs(v, refs, base, path) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_resolve_refs(v, refs, base, path) for v in value)
    return value


def _parse(path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ConfigError(
            f"Config file `{path}` has the unsupported suffix `{suffix or '(none)'}`; "
            f"use one of {', '.join(SUFFIXES)}."
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"Config file `{path}` is not UTF-8 text: {err}.") from err
    except OSError as err:
        raise ConfigError(f"Config file `{path}` cannot be read: {err}.") from err
    text, refs = _mark_refs(text)
    if suffix == ".py":
        return _parse_python(path, text), refs
    _check_brackets(path, text)
    try:
        data = _parse_data(path, suffix, text)
    except RecursionError as err:
        raise ConfigError(f"Config file `{path}` nests too deeply to be read; a config cannot be this deep.") from err
    except ValueError as err:  # a number of more digits than Python converts (int_max_str_digits)
        if isinstance(err, ConfigError) or "digits" not in str(err):
            raise
        raise ConfigError(_long_number(path, text)) from err
    if not isinstance(data, dict):
        raise ConfigError(
            f"Config file `{path}` holds a {type(data).__name__}, expected a mapping of sections "
            f"(`runner`, `model`, ...) at the top level."
        )
    for key in data:
        if not isinstance(key, str):
            raise ConfigError(f"Config file `{path}`: the top-level key `{key!r:.60}` is a {type(key).__name__}, not a string.")
    return copy_plain(data, path.name, max_items=MAX_ITEMS), refs


def _long_number(path: Path, text: str) -> str:
    """The message for a number too long to read, with the line it is on."""
    limit = sys.get_int_max_str_digits() or 4300
    found = re.search(rf"\d{{{limit + 1},}}", text)
    line = f":{text.count(chr(10), 0, found.start()) + 1}" if found else ""
    digits = f" of {len(found.group())} digits" if found else ""
    return (f"{path}{line}: a number{digits} is longer than the {limit} digits Python reads; no count, seed or size "
            f"needs that many; write a smaller number.")


def _check_brackets(path: Path, text: str) -> None:
    """Refuse absurdly nested ``[``/``{`` before a parser spends minutes (PyYAML) or the stack on them."""
    opened = text.count("[") + text.count("{")
    if opened <= 2 * MAX_DEPTH:
        return
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(depth - 1, 0)
    if deepest > 2 * MAX_DEPTH:
        raise ConfigError(f"Config file `{path}` nests brackets {deepest} deep; a config cannot be this deep.")


def _parse_data(path: Path, suffix: str, text: str) -> Any:
    if suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(f"{path}:{err.lineno}: invalid JSON: {err.msg} (column {err.colno}).") from err
    if suffix == ".toml":
        return _parse_toml(path, text)
    return _parse_yaml(path, text)


def _parse_python(path: Path, source: str) -> dict[str, Any]:
    try:
        code = compile(source, str(path), "exec")
    except SyntaxError as err:
        raise ConfigError(f"{path}:{err.lineno}: invalid Python: {err.msg}.") from err
    # Let a config import helper modules that sit next to it, as mmcv configs do.
    folder = str(path.parent.resolve())
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)
    try:
        namespace: dict[str, Any] = {"__name__": "__runnerkit_config__", "__file__": str(path), "__builtins__": __builtins__}
        exec(code, namespace)
    except Exception as err:
        line = _traceback_line(err, path)
        raise ConfigError(f"{path}{line}: executing the config raised {type(err).__name__}: {err}") from err
    finally:
        if added and folder in sys.path:
            sys.path.remove(folder)
    return {
        name: value
        for name, value in namespace.items()
        if not (name.startswith("__") and name != BASE_KEY)
        and not isinstance(value, (types.ModuleType, types.FunctionType, type))
    }


def _traceback_line(err: BaseException, path: Path) -> str:
    tb = err.__traceback__
    line = ""
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename).resolve() == path.resolve():
            line = f":{tb.tb_lineno}"
        tb = tb.tb_next
    return line


def _parse_toml(path: Path, text: str) -> Any:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML: {err}.") from err


def _parse_yaml(path: Path, text: str) -> Any:
    try:
        import yaml
    except ImportError as err:
        raise ConfigError(
            f"Reading the YAML config `{path}` needs PyYAML, which is not installed; "
            f'run `pip install "runnerkit[yaml]"` (or use a .py, .json or .toml config).'
        ) from err
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError(f"{path}{line}: invalid YAML: {problem}.") from err


def merge_dicts(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` merged into a copy of ``base``, recursively for dicts (mmcv's ``_base_`` rule).

    A dict in ``override`` with ``_delete_=True`` replaces the inherited dict instead.
    """
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping):
            value = dict(value)
            if value.pop(DELETE_KEY, False) or not isinstance(out.get(key), Mapping):
                out[key] = merge_dicts({}, value)
            else:
                out[key] = merge_dicts(out[key], value)
        else:
            out[key] = value
    return out


# -- --cfg-options ---------------------------------------------------------------------------


def parse_value(text: str) -> Any:
    """A command-line value as Python: literals (``1``, ``0.5``, ``[1, 2]``, ``'a'``), ``true``/
    ``false``/``none``/``null`` in any case, ``a,b`` as a list; anything else stays a string."""
    lowered = text.strip().lower()
    if lowered in {"true", "false"}:
        return lowered == "true"
    if lowered in {"none", "null"}:
        return None
    if "," in text and not text.strip().startswith(("[", "(", "{", "'", '"')):
        return [parse_value(part) for part in text.split(",") if part.strip()]
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def parse_option(text: str) -> tuple[str, Any]:
    """``"a.b=1"`` -> ``("a.b", 1)`` (the value through :func:`parse_value`).

    Raises:
        ValueError: no ``=`` or an empty key.
    """
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ValueError(f"expected KEY=VALUE such as `runner.max_iters=100`, got `{text}`")
    return key, parse_value(value)


def merge_options(cfg: Mapping[str, Any], options: Iterable[tuple[str, Any]] | Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``cfg`` with each dotted ``key`` set to its value (the CLI's ``--cfg-options``).

    Missing dicts on the way are created; a number indexes into a list or tuple (``workflow.0.1=5``).

    Raises:
        ConfigError: a key goes through a value that is neither a dict nor a list.
    """
    out: dict[str, Any] = _deep_copy(cfg)
    items = options.items() if isinstance(options, Mapping) else options
    for dotted, value in items:
        parts = dotted.split(".")
        node: Any = out
        for depth, part in enumerate(parts):
            key: Any = part
            parent = ".".join(parts[:depth]) or "the config"
            if isinstance(node, list):
                if not part.lstrip("-").isdigit() or not -len(node) <= int(part) < len(node):
                    raise ConfigError(
                        f"override `{dotted}=...`: `{parent}` is a list of {len(node)} items, "
                        f"so `{part}` must be an index from 0 to {len(node) - 1}."
                    )
                key = int(part)
            elif not isinstance(node, dict):
                raise ConfigError(
                    f"override `{dotted}=...`: `{parent}` is {type(node).__name__} `{node!r:.40}`, not a dict, "
                    f"so it has no key `{part}`; set `{parent}` itself instead."
                )
            if depth == len(parts) - 1:
                node[key] = value
                break
            child = node.get(key) if isinstance(node, dict) else node[key]
            if child is None:
                child = {}
            elif isinstance(child, tuple):
                child = list(child)
            node[key] = child
            node = child
    return out


def _deep_copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value
