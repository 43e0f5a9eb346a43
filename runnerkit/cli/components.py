"""``runnerkit list``, ``show NAME`` and ``schema NAME``: what is installed and what it takes.

``list`` reads metadata only: it imports no component module and not torch.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import textwrap
from typing import Any

from runnerkit._records import CORE_KINDS, KINDS
from runnerkit.cli._common import (
    HelpFormatter,
    find_component,
    model_arguments,
    table,
)

__all__ = ["add_parsers", "KIND_CHOICES", "list_command", "schema_command", "show_command"]


KIND_CHOICES = [*KINDS, "all"]


def add_parsers(sub: Any) -> None:
    """Register ``list``, ``show`` and ``schema``."""
    p = sub.add_parser(
        "list", help="list installed runners, constructors and hooks (metadata only)",
        description="List the installed components with their provenance. Reads package metadata only: "
        "no component is imported. Broken plugins are reported, not fatal.",
        epilog="examples:\n  runnerkit list\n  runnerkit list --kind model\n  runnerkit list --kind all --json",
        formatter_class=HelpFormatter,
    )
    p.add_argument("--kind", choices=KIND_CHOICES, help="only this kind (default: runner, constructor, hook and "
                   "optimizer_constructor; "
                   "`all` adds models and datasets)")
    p.add_argument("--json", action="store_true", help="print a JSON array of objects (kind, name, target, "
                   "distribution, version, source, ...) for tools")
    p.set_defaults(handler=list_command)

    p = sub.add_parser(
        "show", help="a component's provenance, docstring and arguments",
        description="Show where a component comes from, its documentation and its arguments (from the runner's "
        "pydantic argument model, or the component's signature).",
        epilog="examples:\n  runnerkit show IterBasedRunner\n  runnerkit show CheckpointHook\n"
        "  runnerkit show acme-runners:FastRunner",
        formatter_class=HelpFormatter,
    )
    p.add_argument("name", help="a component name, bare or `distribution:Name`")
    p.add_argument("--kind", choices=[*KINDS, "optimizer"], help="the kind, when several kinds share the name")
    p.set_defaults(handler=show_command)

    p = sub.add_parser(
        "schema", help="the JSON Schema of a whole config file, or of one component's section",
        description="Without NAME: print the JSON Schema of a whole config file; each section refers to the schema of "
        "the component its `type` names, among those installed now. With NAME: the schema of a config section "
        "building that component (a runner, constructor, hook, model, dataset, or a `torch.optim` optimizer). "
        "Arguments that only exist at run time (model, optimizer, logger, ...) carry `\"x-runtime-only\": true` and "
        "are never required. Editors use the schema to complete and check YAML/JSON/TOML configs: see docs/schemas.md.",
        epilog="examples:\n  runnerkit schema > runnerkit.schema.json\n  runnerkit schema IterBasedRunner\n"
        "  runnerkit schema CheckpointHook\n  runnerkit schema SGD --kind optimizer",
        formatter_class=HelpFormatter,
    )
    p.add_argument("name", nargs="?", help="a component name, bare or `distribution:Name` (default: the whole config)")
    p.add_argument("--kind", choices=[*KINDS, "optimizer"], help="the kind, when several kinds share the name")
    p.set_defaults(handler=schema_command)


def _container() -> Any:
    from runnerkit._build import current_container

    return current_container()


def list_command(args: argparse.Namespace) -> int:
    container = _container()
    container.screen_plugins()  # a plugin module that hangs or exits at import is named, not obeyed
    kinds = list(KINDS) if args.kind == "all" else [args.kind] if args.kind else list(CORE_KINDS)
    records = [r for r in container.records() if r.kind in kinds]
    problems = container.problems
    if args.json:
        print(json.dumps([r.to_json() for r in records], indent=2))
        for problem in problems:
            print(f"runnerkit list: broken plugin: {problem}", file=sys.stderr)
        return 0
    rows = [
        (r.kind, r.name + (" (!)" if r.incompatible else " (shadowed)" if r.shadowed else ""), r.target,
         r.distribution or r.provider, r.version or "-", r.source)
        for r in records
    ]
    print(table(rows, ["KIND", "NAME", "TARGET", "DISTRIBUTION", "VERSION", "SOURCE"]))
    incompatible = [r for r in records if r.incompatible]
    shadowed = [r for r in records if r.shadowed and not r.incompatible]
    if incompatible or shadowed or problems:
        print("\nProblems (these components cannot be used; the rest work):")
        for r in incompatible:
            print(f"  (!) {r.kind} `{r.name}` from `{r.provider}`: {r.incompatible}")
        for r in shadowed:
            print(f"  (shadowed) {r.kind} `{r.name}` from `{r.provider}`: {r.shadowed}")
        for problem in problems:
            print(f"  broken plugin: {problem}")
        print("`runnerkit list` imports no component; `runnerkit check-plugin DIST` imports a distribution's "
              "components and reports their import problems too.")
    if args.kind is None:
        print(f"\n{len(records)} components. `runnerkit list --kind all` also shows models and datasets; "
              f"`runnerkit show NAME` describes one.")
    return 0


def show_command(args: argparse.Namespace) -> int:
    container = _container()
    if args.kind == "optimizer" or (args.kind is None and _is_optimizer(args.name)):
        import torch

        _print_arguments(getattr(torch.optim, args.name), "optimizer", f"{args.name} (optimizer)\n  target:        "
                         f"torch.optim:{args.name}\n  provided by:   torch {torch.__version__}")
        return 0
    records = find_component(container, args.name, [args.kind] if args.kind else list(KINDS))
    for n, record in enumerate(records):
        if n:
            print()
        version = f" {record.version}" if record.version else ""
        print(f"{record.name} ({record.kind})")
        print(f"  target:        {record.target}")
        print(f"  provided by:   {record.distribution or record.provider}{version} ({record.source})")
        if record.incompatible:
            print(f"  problem:       {record.incompatible}")
        _print_arguments(container.load(record), record.kind)
    return 0


def _print_arguments(obj: Any, kind: str, header: str | None = None) -> None:
    """``obj``'s docstring and the arguments of its model (the one configs are checked against)."""
    from runnerkit._args import model_of

    if header:
        print(header)
    doc = inspect.getdoc(obj)
    if doc:
        print()
        print("\n".join(f"  {line}".rstrip() for line in doc.splitlines()))
    args_model = model_of(obj, kind)
    title, rows = f"Arguments ({args_model.__name__})", model_arguments(args_model)
    print()
    print(f"{title}:" if rows else f"{title}: none")
    for name, type_, default, description in rows:
        suffix = " (required)" if default == "required" else f" = {default}" if default else ""
        print(f"  {name}: {type_ or 'any'}{suffix}")
        if description:
            print(textwrap.fill(description, 96, initial_indent="      ", subsequent_indent="      "))


def schema_command(args: argparse.Namespace) -> int:
    from runnerkit._schema import args_schema, config_schema

    container = _container()
    if args.name is None:
        print(json.dumps(config_schema(container), indent=2))
        return 0
    kinds = [args.kind] if args.kind else [*KINDS, "optimizer"]
    if kinds == ["optimizer"] or (args.kind is None and _is_optimizer(args.name)):
        print(json.dumps(args_schema(args.name, kind="optimizer"), indent=2))
        return 0
    records = find_component(container, args.name, [k for k in kinds if k != "optimizer"])
    for n, record in enumerate(records):
        if n:
            print()
        print(json.dumps(args_schema(record.qualified_name if record.distribution else record.name, kind=record.kind), indent=2))
    return 0


def _is_optimizer(name: str) -> bool:
    """Whether ``name`` is a ``torch.optim`` optimizer (and no installed component is called so)."""
    import torch

    value = getattr(torch.optim, name, None)
    return isinstance(value, type) and issubclass(value, torch.optim.Optimizer) and value is not torch.optim.Optimizer
