"""``runnerkit plot WORK_DIR_OR_LOG``: loss, metric and lr curves as a PNG."""

from __future__ import annotations

import argparse
from typing import Any

from runnerkit.cli._common import HelpFormatter

__all__ = ["add_parsers", "plot_command"]


def add_parsers(sub: Any) -> None:
    """Register ``plot``."""
    p = sub.add_parser(
        "plot", help="draw loss and lr curves from a run's JSON log",
        description="Draw the train and val loss/metric curves and the learning rate from a run's `<timestamp>.log.json` "
        "logs into a PNG, over the run's iterations (epoch-based logs included). Given a work dir, every log in it is "
        "read and stitched, so a resumed run is drawn whole. Needs matplotlib: pip install \"runnerkit[plot]\".",
        epilog="examples:\n  runnerkit plot work_dirs/demo\n  runnerkit plot work_dirs/demo/20240101_120000.log.json -o curves.png",
        formatter_class=HelpFormatter,
    )
    p.add_argument("path", metavar="WORK_DIR_OR_LOG", help="a work dir (all its *.log.json logs, stitched) or one log file")
    p.add_argument("-o", "--output", help="the PNG to write (default: next to the log, `<timestamp>.png`)")
    p.set_defaults(handler=plot_command)


def plot_command(args: argparse.Namespace) -> int:
    from runnerkit.plot import plot_log

    out = plot_log(args.path, args.output)
    print(f"Wrote {out}")
    return 0
