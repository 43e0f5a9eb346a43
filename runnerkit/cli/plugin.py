"""``runnerkit check-plugin DIST``: load everything a distribution declares and report every problem."""

from __future__ import annotations

import argparse
from typing import Any

from runnerkit.cli._common import CommandError, HelpFormatter

__all__ = ["add_parsers", "check_plugin_command"]


def add_parsers(sub: Any) -> None:
    """Register ``check-plugin``."""
    p = sub.add_parser(
        "check-plugin", help="check every component a plugin distribution declares",
        description="For plugin authors: import every component the installed distribution DIST declares (entry "
        "points and pluggy plugins), check that each is of the right kind (runners subclass BaseRunner, hooks "
        "subclass Hook, ...) and that argument models produce a JSON Schema. Reports all problems; exit code 1 "
        "if there is any.",
        epilog="example:\n  pip install -e . && runnerkit check-plugin acme-runners",
        formatter_class=HelpFormatter,
    )
    p.add_argument("dist", metavar="DIST", help="the distribution name, as in `pip install DIST`")
    p.set_defaults(handler=check_plugin_command)


def check_plugin_command(args: argparse.Namespace) -> int:
    import importlib_metadata

    from runnerkit._build import current_container
    from runnerkit._records import normalize_dist

    try:
        dist = importlib_metadata.distribution(args.dist)
    except importlib_metadata.PackageNotFoundError:
        raise CommandError(
            f"No distribution `{args.dist}` is installed; install it (`pip install -e .` in the plugin's folder) "
            f"or check the name with `pip list`."
        ) from None
    name = dist.metadata["Name"] or args.dist
    wanted = normalize_dist(name)
    container = current_container()
    if wanted != "runnerkit" and (not container.autoload or wanted in container.disabled):
        raise CommandError(
            f"`{name}` is switched off in this environment (RUNNERKIT_DISABLE_PLUGIN_AUTOLOAD or "
            f"RUNNERKIT_DISABLE_PLUGINS); unset it to check the plugin."
        )
    records = [r for r in container.records() if r.distribution and normalize_dist(r.distribution) == wanted]
    problems = [str(p) for p in container.problems if p.distribution and normalize_dist(p.distribution) == wanted]
    if not records and not problems:
        raise CommandError(
            f"`{name}` {dist.version} declares no runnerkit components: add entry points in the groups "
            f"runnerkit.runners, runnerkit.constructors, runnerkit.hooks, runnerkit.models, runnerkit.datasets or "
            f"runnerkit.plugins to its pyproject.toml and reinstall it (see docs/plugins.md)."
        )
    print(f"Checking {name} {dist.version}: {len(records)} component{'s' if len(records) != 1 else ''}")
    for record in records:
        if record.shadowed:
            problems.append(
                f"{record.kind} `{record.name}` ({record.target}): runnerkit provides a {record.kind} of that name and "
                f"its names are reserved, so configs naming `{record.name}` build runnerkit's, never this one (it is "
                f"reached only as `{record.qualified_name}`); rename it, e.g. `{_prefix(name)}{record.name}`."
            )
            print(f"  FAIL  {record.kind:<11} {record.name} (shadowed by runnerkit's)")
            continue
        try:
            obj = container.load(record)
            detail = _check_object(record.kind, obj)
        except Exception as err:  # every failure is reported, none stops the others
            cause = f" (caused by {err.__cause__!r})" if err.__cause__ is not None and str(err.__cause__) not in str(err) else ""
            problems.append(f"{record.kind} `{record.name}` ({record.target}): {err}{cause}")
            print(f"  FAIL  {record.kind:<11} {record.name}")
            continue
        print(f"  ok    {record.kind:<11} {record.name}{detail}")
    if problems:
        print(f"\n{len(problems)} problem{'s' if len(problems) != 1 else ''}:")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print(f"\n{name}: all {len(records)} components load and are of the right kind.")
    return 0


def _prefix(dist: str) -> str:
    """``acme-runners`` -> ``Acme`` (a suggested prefix for a renamed component)."""
    head = dist.replace("_", "-").split("-")[0]
    return head[:1].upper() + head[1:]


def _check_object(kind: str, obj: Any) -> str:
    """Kind-specific checks beyond the container's; returns a note for the report."""
    args_model = getattr(obj, "args_model", None)
    if kind == "runner" or args_model is not None:
        from pydantic import BaseModel

        if not (isinstance(args_model, type) and issubclass(args_model, BaseModel)):
            raise TypeError(f"`{obj.__name__}.args_model` must be a pydantic model class, got {args_model!r}")
        try:
            schema = args_model.model_json_schema()
        except Exception as err:
            raise TypeError(
                f"the argument model `{args_model.__name__}` cannot produce a JSON Schema: {err}; annotate run-time "
                f"objects with `WithJsonSchema` as runnerkit.runners.args does"
            ) from err
        return f"  (arguments: {', '.join(schema.get('properties', {}))})"
    return ""
