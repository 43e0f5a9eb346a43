"""``runnerkit consolidate CHECKPOINT [OUT]``: any checkpoint (a sharded folder included) as one file."""

from __future__ import annotations

import argparse
from typing import Any

from runnerkit.cli._common import HelpFormatter

__all__ = ["add_parsers", "consolidate_command"]


def add_parsers(sub: Any) -> None:
    """Register ``consolidate``."""
    p = sub.add_parser(
        "consolidate", help="turn a checkpoint (a sharded folder included) into one file",
        description="Write CHECKPOINT as one single-file checkpoint (`meta`, `state_dict`, `optimizer` and the loop "
        "state), loadable with `torch.load(..., weights_only=True)` and by `load_from`/`--resume`. CHECKPOINT is a "
        "sharded checkpoint folder (`iter_N/`, `epoch_N/`, at any world size), a `.pth` file, or a work dir (its "
        "latest checkpoint). Runs in one process; needs memory for the whole model and optimizer state.",
        epilog="examples:\n  runnerkit consolidate work_dirs/llm/iter_1000\n"
        "  runnerkit consolidate work_dirs/llm model.pth",
        formatter_class=HelpFormatter,
    )
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="a sharded checkpoint folder, a checkpoint file or a work dir")
    p.add_argument("out", metavar="OUT", nargs="?", help="the file to write (default: `<CHECKPOINT>.consolidated.pth`)")
    p.set_defaults(handler=consolidate_command)


def consolidate_command(args: argparse.Namespace) -> int:
    from runnerkit.checkpoint_sharded import consolidate_to_file

    print(f"Wrote {consolidate_to_file(args.checkpoint, args.out)}")
    return 0
