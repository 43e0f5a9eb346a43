"""The ``runnerkit`` command line (also ``python -m runnerkit``).

Commands live one group per module (``components``: list/show/schema, ``validate``, ``train``:
run/demo, ``consolidate``, ``plot``, ``plugin``: check-plugin) and import torch only when they need it.

Exit codes: 0 success, 1 failure (a bad config, an unknown name, a broken plugin: one message,
no traceback; set ``RUNNERKIT_DEBUG=1`` for the traceback), 2 usage error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from runnerkit._version import __version__
from runnerkit.cli import components, consolidate, plot, plugin, train, validate
from runnerkit.cli._common import HelpFormatter

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command."""
    parser = argparse.ArgumentParser(
        prog="runnerkit",
        description="runnerkit: PyTorch training runners found through entry points and pluggy plugins.",
        epilog="Start with `runnerkit demo`, then `runnerkit plot work_dirs/demo`. `runnerkit COMMAND --help` "
        "describes each command.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"runnerkit {__version__}")
    sub = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    sub.required = True
    for module in (components, validate, train, consolidate, plot, plugin):
        module.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    parser = build_parser()
    if argv is None:
        argv = sys.argv[1:]
    if not argv:  # `runnerkit` alone: the overview of the commands is the answer
        parser.print_help()
        return EXIT_OK
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version and usage errors (code 2)
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    args.argv = list(argv) if argv is not None else sys.argv[1:]  # `run` repeats it in its resume command
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        print("runnerkit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `runnerkit list | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception as err:
        message = _known_error_message(err)
        if message is None or os.environ.get("RUNNERKIT_DEBUG"):
            raise
        print(f"runnerkit {args.command}: error: {message}", file=sys.stderr)
        return EXIT_FAILURE


def _known_error_message(err: BaseException) -> str | None:
    """The one-message form of the errors a user can act on; None for bugs (they keep their traceback)."""
    from runnerkit._errors import RunnerkitError
    from runnerkit.cli._common import in_flags

    if isinstance(err, RunnerkitError):
        return in_flags(str(err))
    if isinstance(err, OSError):
        return f"{err.strerror or err}: `{err.filename}`" if err.filename else str(err)
    if type(err).__name__ == "ValidationError" and type(err).__module__.startswith("pydantic"):
        lines = [f"invalid arguments for {err.title}:"]  # type: ignore[attr-defined]
        for item in err.errors():  # type: ignore[attr-defined]
            loc = ".".join(str(p) for p in item["loc"]) or "(all)"
            lines.append(f"  - {loc}: {item['msg']}")
        return "\n".join(lines)
    return None
