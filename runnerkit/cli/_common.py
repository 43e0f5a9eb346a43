"""Helpers shared by the commands: the command error, tables, and argument descriptions.

Nothing here imports torch: ``runnerkit list`` must stay instant.
"""

from __future__ import annotations

import argparse
import difflib
import inspect
import re
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from runnerkit._errors import RunnerkitError

if TYPE_CHECKING:
    from runnerkit._container import Container
    from runnerkit._records import ComponentRecord


class HelpFormatter(argparse.HelpFormatter):
    """Wraps prose paragraphs to the terminal, keeps indented lines (examples) as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        out = []
        for line in text.splitlines():
            if line.startswith("  ") or not line.strip():
                out.append(indent + line)
            else:
                out.append(textwrap.fill(line, width, initial_indent=indent, subsequent_indent=indent))
        return "\n".join(out)


class CommandError(RunnerkitError):
    """A command cannot do what was asked; the message says why and what to do (exit code 1)."""


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    """A plain-text table with left-aligned columns (the last column is not padded)."""
    cells = [[str(h) for h in headers], *[["" if c is None else str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        padded = [c.ljust(w) for c, w in zip(row[:-1], widths[:-1])] + [row[-1]]
        lines.append("  ".join(padded).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def find_component(container: Container, name: str, kinds: Sequence[str]) -> list[ComponentRecord]:
    """Every record called ``name`` among ``kinds`` (bare or ``dist:Name``).

    Raises:
        CommandError: no such component (the message lists the closest names).
        AmbiguousComponentError: several distributions provide it.
    """
    from runnerkit._errors import UnknownComponentError

    found = []
    for kind in kinds:
        try:
            found.append(container.lookup(kind, name))
        except UnknownComponentError:
            continue
    if found:
        return found
    names = sorted({r.name for r in container.records() if r.kind in kinds})
    bare = name.rpartition(":")[2]
    close = difflib.get_close_matches(bare, names, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(f'`{c}`' for c in close)}?" if close else ""
    raise CommandError(
        f"No installed component is called `{name}`.{hint} `runnerkit list --kind all` shows every installed "
        f"component; install the package that provides `{name}` or correct the spelling."
    )


# -- argument descriptions (``show``) ---------------------------------------------------------


def _schema_type(prop: dict[str, Any]) -> str:
    if "x-python-type" in prop:
        return str(prop["x-python-type"])
    if "anyOf" in prop:
        return " | ".join(_schema_type(p) for p in prop["anyOf"])
    kind = prop.get("type")
    if isinstance(kind, list):
        return " | ".join(_json_type(k) for k in kind)
    if kind == "array" and "prefixItems" in prop:
        return f"tuple[{', '.join(_schema_type(p) for p in prop['prefixItems'])}]"
    if kind == "array" and isinstance(prop.get("items"), dict):
        return f"list[{_schema_type(prop['items'])}]"
    if "$ref" in prop:
        return str(prop["$ref"]).rsplit("/", 1)[-1]
    if "enum" in prop:
        return " | ".join(repr(v) for v in prop["enum"])
    return _json_type(kind) if kind else "any"


def _json_type(kind: Any) -> str:
    return {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "null": "None",
            "object": "dict", "array": "list"}.get(str(kind), str(kind))


def model_arguments(args_model: Any) -> list[tuple[str, str, str, str]]:
    """``(name, type, default, description)`` for every field of a pydantic model."""
    schema = args_model.model_json_schema()
    props = schema.get("properties", {})
    rows = []
    for name, field in args_model.model_fields.items():
        prop = props.get(name, {})
        if field.is_required():
            default = "required"
        elif field.default_factory is not None:
            default = repr(field.default_factory())
        else:
            default = repr(field.default)
        description = field.description or ""
        if prop.get("x-runtime-only"):
            description = f"(run time only) {description}"
        rows.append((name, _schema_type(prop), default, description))
    return rows


_ARG_LINE = re.compile(r"^\s{2,}(\*{0,2}\w+)\s*(\([^)]*\))?:\s*(.*)$")


def docstring_arguments(obj: Any) -> dict[str, str]:
    """``name -> description`` from the ``Args:`` section of a Google-style docstring."""
    out: dict[str, str] = {}
    docs = [inspect.getdoc(obj) or ""]
    init = getattr(obj, "__init__", None)
    if isinstance(obj, type) and init is not None and init is not object.__init__:
        docs.append(inspect.getdoc(init) or "")
    for doc in docs:
        in_args, current = False, None
        for line in doc.splitlines():
            stripped = line.strip()
            if stripped in {"Args:", "Arguments:", "Parameters:"}:
                in_args = True
                continue
            if in_args and stripped and not line.startswith(" "):
                in_args = False
            if not in_args:
                continue
            match = _ARG_LINE.match(line)
            if match and len(line) - len(line.lstrip()) <= 4:
                current = match.group(1).lstrip("*")
                out[current] = match.group(3).strip()
            elif current and stripped:
                out[current] += " " + stripped
    return out


def signature_arguments(obj: Any) -> list[tuple[str, str, str, str]]:
    """``(name, type, default, description)`` from a callable's signature and docstring."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    described = docstring_arguments(obj)
    rows = []
    for param in sig.parameters.values():
        name = param.name
        if param.kind is param.VAR_POSITIONAL:
            name = f"*{name}"
        elif param.kind is param.VAR_KEYWORD:
            name = f"**{name}"
        annotation = "" if param.annotation is param.empty else str(param.annotation)
        annotation = annotation.replace("typing.", "")
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            default = ""
        else:
            default = "required" if param.default is param.empty else repr(param.default)
        rows.append((name, annotation, default, described.get(param.name, "")))
    return rows
