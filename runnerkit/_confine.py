"""Where a data config may write: inside the work dir, and nowhere else.

A JSON/YAML/TOML config is data (docs/security.md): every path its hook sections name (checkpoint
and log folders, ``filename_tmpl``, tracker folders, profiler traces, any argument or nested key
named like a path: ``*_dir``, ``*_path``, ``*_file``, ``dir_name``...) must lead, as the hook will
use it, inside the run's work dir, or the config is refused at validation. A ``.py`` config is
code and may write anywhere. Checkpoint file name templates are checked for every config: exactly
one ``{}`` field, the epoch or iteration number.

Example:
    >>> check_filename_template("iter_{}.pth")
    'iter_{}.pth'
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import AfterValidator

__all__ = ["PATH_KEY", "FilenameTemplate", "check_filename_template", "hook_path_problems", "inside", "outside_problem"]

#: argument (or nested key) names that hold a path a hook writes to.
PATH_KEY = re.compile(r"(?:^|_)(?:dir|dirs|dirname|dir_name|path|paths|file|files|filename|tmpdir|logdir|folder)$")

Problem = tuple[tuple[str | int, ...], str]


def check_filename_template(value: str) -> str:
    """``value`` when it holds exactly one ``{}`` field that an epoch or iteration number fills."""
    example = "e.g. `iter_{}.pth` or `epoch_{:04d}.pth`"
    try:
        fields = [(name, spec) for _, name, spec, _ in string.Formatter().parse(value) if name is not None]
    except ValueError as err:
        raise ValueError(f"`{value:.80}` is not a file name template: {err}; {example}") from None
    if len(fields) != 1 or fields[0][0] not in ("", "0"):
        shown = ", ".join(f"`{{{name}{':' + spec if spec else ''}}}`" for name, spec in fields) or "none"
        raise ValueError(f"a file name template holds exactly one `{{}}` field, the epoch or iteration number; "
                         f"`{value:.80}` holds {shown}; {example} (write a literal brace as `{{{{` or `}}}}`)")
    try:
        name = value.format(1)
    except (ValueError, TypeError, IndexError, KeyError) as err:
        raise ValueError(f"`{value:.80}` cannot be filled with a number: {err}; {example}") from None
    if not name or name.endswith(("/", os.sep)):
        raise ValueError(f"`{value:.80}` names no file; {example}")
    return value


#: ``filename_tmpl`` of a checkpoint hook: a template with exactly one ``{}`` field.
FilenameTemplate = Annotated[str, AfterValidator(check_filename_template)]


def inside(path: str, roots: Sequence[str]) -> bool:
    """Whether ``path`` (relative: to the current folder) is one of ``roots`` or inside one, links followed.

    A path holding a NUL character is no path, and inside nothing.
    """
    if "\0" in path:
        return False
    real = os.path.realpath(path)
    for root in roots:
        top = os.path.realpath(root)
        if real == top or real.startswith(top.rstrip(os.sep) + os.sep):
            return True
    return False


def _outside(key: str, given: str, effective: str, roots: Sequence[str]) -> str:
    if "\0" in given:
        return f"`{given!r:.200}` holds a NUL character, so it is no path; give a folder inside the work dir"
    where = f"the work dir `{os.path.abspath(roots[0])}`" if roots else "a work dir (none is set: give `work_dir`)"
    via = f" (it writes to `{effective}`)" if effective != given else ""
    return (f"`{given:.200}`{via} is outside {where}; a data config (JSON/YAML/TOML) may only write inside the work "
            f"dir (docs/security.md): give a path inside it, choose a work dir that holds it (`work_dir`), or use "
            f"a `.py` config to write elsewhere")


def outside_problem(path: str, roots: Sequence[str]) -> str | None:
    """The problem of a data config's ``path`` (relative: to the current folder) outside ``roots``, or None."""
    return None if roots and inside(path, roots) else _outside("", path, path, roots)


def _template_problem(value: str) -> str | None:
    parts = os.path.normpath(value).split(os.sep)
    if os.path.isabs(value) or ".." in parts or ".." in value.replace("\\", "/").split("/"):
        return (f"`{value:.200}` leads out of the checkpoint folder; a data config's `filename_tmpl` is a file name "
                f"(or a subfolder) inside it, such as `iter_{{}}.pth`; use a `.py` config to write elsewhere")
    return None


def hook_path_problems(hook: Any, args: Mapping[str, Any], roots: Sequence[str]) -> list[Problem]:
    """The paths in a hook section of a data config that lead outside ``roots`` (the work dir first).

    Args:
        hook: the hook class (its own rules: ``out_dir`` gets the work dir's name appended by
            ``CheckpointHook`` and ``EvalHook``; ``ProfilerHook``'s ``dir_name`` is relative to the work dir).
        args: the section's arguments.
        roots: the work dir (and other folders the user named on the command line).
    """
    from runnerkit.hooks.checkpoint import CheckpointHook
    from runnerkit.hooks.evaluation import EvalHook
    from runnerkit.hooks.profiler import ProfilerHook

    work_dir = roots[0] if roots else None
    problems: list[Problem] = []
    for key, value in args.items():
        if not isinstance(key, str):
            continue
        if key == "filename_tmpl":
            message = _template_problem(value) if isinstance(value, str) else None
            if message is not None:
                problems.append(((key,), message))
            continue
        if key == "out_dir" and isinstance(value, str | os.PathLike) and isinstance(hook, type) \
                and issubclass(hook, CheckpointHook | EvalHook) and work_dir is not None:
            given = os.fspath(value)
            effective = os.path.join(given, os.path.basename(os.path.abspath(work_dir)))
            if not inside(effective, roots):
                problems.append(((key,), _outside(key, given, effective, roots)))
            continue
        relative_to = work_dir if isinstance(hook, type) and issubclass(hook, ProfilerHook) and key == "on_trace_ready" else None
        problems.extend(_paths_in(value, (key,), roots, relative_to))
    return problems


def _paths_in(value: Any, loc: tuple[str | int, ...], roots: Sequence[str], relative_to: str | None) -> list[Problem]:
    """Every path-named string in ``value`` (nested dicts and lists) that leads outside ``roots``."""
    problems: list[Problem] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            problems.extend(_paths_in(item, (*loc, key), roots, relative_to))
        return problems
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            problems.extend(_paths_in(item, (*loc, index), roots, relative_to))
        return problems
    name = next((part for part in reversed(loc) if isinstance(part, str)), "")
    if isinstance(value, str | os.PathLike) and PATH_KEY.search(name):
        given = os.fspath(value)
        if not isinstance(given, str) or not given:
            return problems
        effective = os.path.join(relative_to, given) if relative_to is not None and not os.path.isabs(given) else given
        if not roots or not inside(effective, roots):
            problems.append((loc, _outside(name, given, effective, roots)))
    return problems
