"""Finding the line of a config key in its file, for messages such as ``cfg.py:12: runner.max_iters: ...``.

Each format has a small finder that follows a key path (``("runner", "max_iters")``,
``("workflow", 0)``) as deep as the file spells it out and returns that depth and line.
Finding is best effort: a key built by code (``.py``) or inherited from elsewhere falls
back to its deepest ancestor that the file does spell out.
"""

from __future__ import annotations

import ast
import bisect
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

Loc = Sequence[str | int]
Found = tuple[int, int]  # (how many leading keys were found, line number); (0, 0): nothing


def format_loc(loc: Loc) -> str:
    """``("workflow", 0, 1)`` -> ``workflow[0][1]``; ``("runner", "max_iters")`` -> ``runner.max_iters``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


class Locator:
    """``file:line`` of many keys of one config: each file is read and indexed once.

    Each lookup costs the depth of its key, not the size of the file, so locating every one of
    thousands of problems stays linear in their number (``runnerkit validate`` of a config with
    thousands of problems).
    """

    def __init__(self, sources: Sequence[Path]) -> None:
        self.sources = list(sources)
        self._indexes: dict[Path, _Index] = {}

    def index(self, path: Path) -> _Index:
        found = self._indexes.get(path)
        if found is None:
            found = self._indexes[path] = _index(path)
        return found

    def locate(self, loc: Loc) -> str:
        """As :func:`locate`."""
        best: tuple[int, int, Path] | None = None
        for path in self.sources:
            depth, line = self.index(path).find(loc)
            if line and (best is None or depth > best[0]):
                best = (depth, line, path)
        if best is None:
            return str(self.sources[0]) if self.sources else "(config)"
        return f"{best[2]}:{best[1]}"


def locate(sources: Sequence[Path], loc: Loc) -> str:
    """``file:line`` of the deepest spelled-out part of ``loc`` (``file`` alone when not found).

    ``sources`` is the config file, then the ``_base_`` files it inherits from; the file that
    spells out more of ``loc`` wins, the config itself on a tie. (For many keys, use one :class:`Locator`.)
    """
    return Locator(sources).locate(loc)


def find_line(path: Path, loc: Loc) -> Found:
    """How deep ``loc`` is spelled out in ``path`` and on which line (``(0, 0)`` when not at all)."""
    return _index(path).find(loc)


class _Index:
    """A file's keys, found lazily and remembered: ``find`` walks one level per key of ``loc``."""

    def find(self, loc: Loc) -> Found:
        if not loc:
            return (0, 0)
        try:
            return self._find(loc)
        except (SyntaxError, ValueError, IndexError, ImportError, RecursionError):
            return (0, 0)

    def _find(self, loc: Loc) -> Found:
        return (0, 0)


def _index(path: Path) -> _Index:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError):
        return _Index()
    suffix = path.suffix.lower()
    maker = {".py": _PythonIndex, ".json": _JsonIndex, ".yaml": _YamlIndex, ".yml": _YamlIndex, ".toml": _TomlIndex}
    try:
        return maker[suffix](text) if suffix in maker else _Index()
    except (SyntaxError, ValueError, IndexError, ImportError, RecursionError):
        return _Index()
    except Exception as err:  # PyYAML's own errors
        if type(err).__module__.startswith("yaml"):
            return _Index()
        raise


def _walk(root: Any, loc: Loc, child: Any) -> Found:
    """Follow ``loc`` from ``root`` with ``child(node, key) -> (node, line) | None``."""
    node, depth, line = root, 0, 0
    for key in loc:
        found = child(node, key)
        if found is None:
            break
        node, line = found
        depth += 1
    return (depth, line)


# -- Python: module-level assignments of dict(...) calls and literals -----------------------


class _PythonIndex(_Index):
    def __init__(self, text: str) -> None:
        self.names: dict[str, tuple[ast.AST, int]] = {}
        for stmt in ast.parse(text).body:  # the last assignment of a name wins, as when the file runs
            targets: list[ast.expr] = []
            value: ast.expr | None = None
            if isinstance(stmt, ast.Assign):
                targets, value = list(stmt.targets), stmt.value
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                targets, value = [stmt.target], stmt.value
            for target in targets:
                if isinstance(target, ast.Name) and value is not None:
                    self.names[target.id] = (value, stmt.lineno)
        self.children: dict[int, dict[Any, tuple[ast.AST, int]]] = {}

    def _find(self, loc: Loc) -> Found:
        root = self.names.get(str(loc[0]))
        if root is None:
            return (0, 0)
        depth, line = _walk(root[0], loc[1:], self._child)
        return (depth + 1, line or root[1])

    def _child(self, node: ast.AST, key: str | int) -> tuple[ast.AST, int] | None:
        if isinstance(node, (ast.List, ast.Tuple)):
            if isinstance(key, int) and -len(node.elts) <= key < len(node.elts):
                elt = node.elts[key]
                return elt, elt.lineno
            return None
        members = self.children.get(id(node))
        if members is None:
            members = self.children[id(node)] = {}
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
                for kw in node.keywords:
                    if kw.arg is not None:
                        members.setdefault(kw.arg, (kw.value, kw.value.lineno))
            elif isinstance(node, ast.Dict):
                for k, v in zip(node.keys, node.values):
                    if isinstance(k, ast.Constant) and isinstance(k.value, str | int):
                        members.setdefault((type(k.value), k.value), (v, k.lineno))
        if isinstance(node, ast.Dict):
            return members.get((type(key), key))
        return members.get(key)


# -- JSON: a small scanner that follows keys; each object's members are scanned once ------------

_WS = re.compile(r"\s*")


class _JsonIndex(_Index):
    def __init__(self, text: str) -> None:
        self.text = text
        self.newlines = [i for i, char in enumerate(text) if char == "\n"]
        self.decoder = json.JSONDecoder()
        self.members: dict[int, dict[str | int, tuple[int, int]]] = {}

    def _find(self, loc: Loc) -> Found:
        start = _WS.match(self.text, 0).end()  # type: ignore[union-attr]
        return _walk(start, loc, self._child)

    def _child(self, pos: int, key: str | int) -> tuple[int, int] | None:
        text = self.text
        opener = text[pos]
        if opener not in "{[" or (opener == "[") != isinstance(key, int):
            return None
        members = self.members.get(pos)
        if members is None:
            members = self.members[pos] = self._scan(pos)
        found = members.get(key)
        if found is None:
            return None
        key_pos, value_pos = found
        return value_pos, bisect.bisect_left(self.newlines, key_pos) + 1

    def _scan(self, pos: int) -> dict[str | int, tuple[int, int]]:
        """``key or index -> (position of the key or element, position of its value)`` of the value at ``pos``."""
        text = self.text
        opener = text[pos]
        closer = "}" if opener == "{" else "]"
        pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
        found: dict[str | int, tuple[int, int]] = {}
        index = 0
        while text[pos] != closer:
            start = pos
            name: str | int = index
            if opener == "{":
                name, pos = json.decoder.scanstring(text, pos + 1)  # type: ignore[attr-defined]
                pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
                pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]  # skip ':'
            found.setdefault(name, (start, pos))
            _, pos = self.decoder.raw_decode(text, pos)
            pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
            if text[pos] == ",":
                pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
            index += 1
        return found


# -- YAML: PyYAML's node tree carries line marks -------------------------------------------------


class _YamlIndex(_Index):
    def __init__(self, text: str) -> None:
        import yaml

        self.yaml = yaml
        self.root: Any = yaml.compose(text, Loader=yaml.SafeLoader)
        self.members: dict[int, dict[str, tuple[Any, int]]] = {}

    def _find(self, loc: Loc) -> Found:
        return _walk(self.root, loc, self._child)

    def _child(self, node: Any, key: str | int) -> tuple[Any, int] | None:
        if isinstance(node, self.yaml.SequenceNode):
            if isinstance(key, int) and -len(node.value) <= key < len(node.value):
                item = node.value[key]
                return item, item.start_mark.line + 1
            return None
        if not isinstance(node, self.yaml.MappingNode):
            return None
        members = self.members.get(id(node))
        if members is None:  # the last of repeated keys wins, as when the file is loaded
            members = self.members[id(node)] = {str(k.value): (v, k.start_mark.line + 1) for k, v in node.value}
        return members.get(str(key))


# -- TOML: table headers and ``key = value`` lines -----------------------------------------------

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-.\"' ]+?)\s*=")


def _toml_parts(dotted: str) -> list[str]:
    return [p.strip().strip("\"'") for p in dotted.split(".")]


class _TomlIndex(_Index):
    def __init__(self, text: str) -> None:
        self.lines: dict[tuple[str, ...], int] = {}  # every spelled-out key path -> its first line
        table: list[str] = []
        for number, raw in enumerate(text.splitlines(), 1):
            header = _HEADER.match(raw)
            if header:
                table = _toml_parts(header.group(1))
                full = table
            else:
                key = _KEY.match(raw)
                if not key:
                    continue
                full = table + _toml_parts(key.group(1))
            self.lines.setdefault(tuple(full), number)

    def _find(self, loc: Loc) -> Found:
        wanted = tuple(str(k) for k in loc)
        for depth in range(len(wanted), 0, -1):
            line = self.lines.get(wanted[:depth])
            if line is not None:
                return (depth, line)
        return (0, 0)
