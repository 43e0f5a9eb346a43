"""Helpers shared by the commands: the command error, tables, and argument descriptions.

Nothing here imports torch: ``runnerkit list`` must stay instant.
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from runnerkit._errors import RunnerkitError
from runnerkit._suggest import did_you_mean

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


#: how the library's errors name ``build_job``/``train`` arguments and config keys, and what
#: ``runnerkit run`` calls them (longest phrases first: a phrase never contains a later one's result).
_IN_FLAGS = (
    ("`resume=True` (or `resume=\"auto\"`; config key `resume`)", "`--resume` (or `--resume auto`)"),
    ("`resume=True` (config key `resume`)", "`--resume`"),
    ("`resume=PATH` (config key `resume`)", "`--resume PATH`"),
    ("choose another `work_dir`", "train into another `--work-dir`"),
    ("`overwrite=True` (config key `overwrite`; deletes those checkpoints)", "`--overwrite` (deletes those checkpoints)"),
)


def in_flags(message: str) -> str:
    """``message`` (a library error's) with the arguments and config keys it names said as ``runnerkit run`` flags.

    The library speaks of ``resume=True`` and the config key ``resume``; a user of the command
    line is told ``--resume``.
    """
    for library, flag in _IN_FLAGS:
        message = message.replace(library, flag)
    return message


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
    hint = did_you_mean(bare, names)
    hint = f" {hint}" if hint else ""
    raise CommandError(
        f"No installed component is called `{name}`.{hint} `runnerkit list --kind all` shows every installed "
        f"component; install the package that provides `{name}` or correct the spelling."
    )


# -- argument descriptions (``show``) ---------------------------------------------------------


def _schema_type(prop: dict[str, Any]) -> str:
    if "x-python-type" in prop:
        return str(prop["x-python-type"])
    if "const" in prop:
        return repr(prop["const"])
    if "anyOf" in prop:
        return " | ".join(dict.fromkeys(_schema_type(p) for p in prop["anyOf"]))
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
    if args_model.model_config.get("extra") == "allow":
        rows.append(("**kwargs", "", "", "any other keyword argument (passed on; not checked here)"))
    return rows
