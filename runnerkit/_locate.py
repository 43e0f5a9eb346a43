"""Finding the line of a config key in its file, for messages such as ``cfg.py:12: runner.max_iters: ...``.

Each format has a small finder that follows a key path (``("runner", "max_iters")``,
``("workflow", 0)``) as deep as the file spells it out and returns that depth and line.
Finding is best effort: a key built by code (``.py``) or inherited from elsewhere falls
back to its deepest ancestor that the file does spell out.
"""

from __future__ import annotations

import ast
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


def locate(sources: Sequence[Path], loc: Loc) -> str:
    """``file:line`` of the deepest spelled-out part of ``loc`` (``file`` alone when not found).

    ``sources`` is the config file, then the ``_base_`` files it inherits from; the file that
    spells out more of ``loc`` wins, the config itself on a tie.
    """
    best: tuple[int, int, Path] | None = None
    for path in sources:
        depth, line = find_line(path, loc)
        if line and (best is None or depth > best[0]):
            best = (depth, line, path)
    if best is None:
        return str(sources[0]) if sources else "(config)"
    return f"{best[2]}:{best[1]}"


def find_line(path: Path, loc: Loc) -> Found:
    """How deep ``loc`` is spelled out in ``path`` and on which line (``(0, 0)`` when not at all)."""
    if not loc:
        return (0, 0)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return (0, 0)
    suffix = path.suffix.lower()
    try:
        if suffix == ".py":
            return _find_python(text, loc)
        if suffix == ".json":
            return _find_json(text, loc)
        if suffix in {".yaml", ".yml"}:
            return _find_yaml(text, loc)
        if suffix == ".toml":
            return _find_toml(text, loc)
    except (SyntaxError, ValueError, IndexError, ImportError):
        pass
    return (0, 0)


# -- Python: module-level assignments of dict(...) calls and literals -----------------------


def _find_python(text: str, loc: Loc) -> Found:
    tree = ast.parse(text)
    node: ast.AST | None = None
    line = 0
    for stmt in tree.body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(stmt, ast.Assign):
            targets, value = list(stmt.targets), stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            targets, value = [stmt.target], stmt.value
        if value is not None and any(isinstance(t, ast.Name) and t.id == loc[0] for t in targets):
            node, line = value, stmt.lineno
    if node is None:
        return (0, 0)
    depth = 1
    for key in loc[1:]:
        child = _python_child(node, key)
        if child is None:
            break
        node, line = child
        depth += 1
    return (depth, line)


def _python_child(node: ast.AST, key: str | int) -> tuple[ast.AST, int] | None:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        for kw in node.keywords:
            if kw.arg == key:
                return kw.value, kw.value.lineno
    elif isinstance(node, ast.Dict):
        for k, v in zip(node.keys, node.values):
            if isinstance(k, ast.Constant) and k.value == key:
                return v, k.lineno
    elif isinstance(node, (ast.List, ast.Tuple)) and isinstance(key, int) and -len(node.elts) <= key < len(node.elts):
        elt = node.elts[key]
        return elt, elt.lineno
    return None


# -- JSON: a small scanner that follows keys and skips other values ---------------------------

_WS = re.compile(r"\s*")


def _find_json(text: str, loc: Loc) -> Found:
    decoder = json.JSONDecoder()
    pos = _WS.match(text, 0).end()  # type: ignore[union-attr]
    depth, line = 0, 0
    for key in loc:
        found = _json_child(text, pos, key, decoder)
        if found is None:
            break
        key_pos, pos = found
        depth, line = depth + 1, text.count("\n", 0, key_pos) + 1
    return (depth, line)


def _json_child(text: str, pos: int, key: str | int, decoder: json.JSONDecoder) -> tuple[int, int] | None:
    """(position of the key or element, position of its value) inside the value at ``pos``."""
    opener = text[pos]
    if opener not in "{[" or (opener == "[") != isinstance(key, int):
        return None
    closer = "}" if opener == "{" else "]"
    pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
    index = 0
    while text[pos] != closer:
        start = pos
        if opener == "{":
            name, pos = json.decoder.scanstring(text, pos + 1)  # type: ignore[attr-defined]
            pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]  # skip ':'
            hit = name == key
        else:
            hit = index == key
        if hit:
            return start, pos
        _, pos = decoder.raw_decode(text, pos)
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        if text[pos] == ",":
            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
        index += 1
    return None


# -- YAML: PyYAML's node tree carries line marks -------------------------------------------------


def _find_yaml(text: str, loc: Loc) -> Found:
    import yaml

    node: Any = yaml.compose(text, Loader=yaml.SafeLoader)
    depth, line = 0, 0
    for key in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if str(k.value) == str(key):
                    child = (v, k.start_mark.line + 1)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and -len(node.value) <= key < len(node.value):
            item = node.value[key]
            child = (item, item.start_mark.line + 1)
        if child is None:
            break
        node, line = child
        depth += 1
    return (depth, line)


# -- TOML: table headers and ``key = value`` lines -----------------------------------------------

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-.\"' ]+?)\s*=")


def _toml_parts(dotted: str) -> list[str]:
    return [p.strip().strip("\"'") for p in dotted.split(".")]


def _find_toml(text: str, loc: Loc) -> Found:
    wanted = [str(k) for k in loc]
    table: list[str] = []
    best: Found = (0, 0)
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
        depth = 0
        while depth < min(len(full), len(wanted)) and full[depth] == wanted[depth]:
            depth += 1
        if depth == len(full) and depth > best[0]:
            best = (depth, number)
    return best
