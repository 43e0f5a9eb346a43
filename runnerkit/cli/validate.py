"""``runnerkit validate CONFIG``: check a config without training; every problem with its place in the file."""

from __future__ import annotations

import argparse
from typing import Any

from runnerkit.cli._common import HelpFormatter
from runnerkit.config import parse_option

__all__ = ["add_cfg_options", "add_parsers", "option", "validate_command"]


def option(text: str) -> tuple[str, Any]:
    """argparse type for ``--cfg-options KEY=VALUE`` (a bad item is a usage error, exit 2)."""
    try:
        return parse_option(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def add_cfg_options(parser: argparse.ArgumentParser) -> None:
    """The ``--cfg-options a.b=1 ...`` argument shared by ``validate`` and ``run``."""
    parser.add_argument(
        "--cfg-options", nargs="+", action="extend", type=option, default=[], metavar="KEY=VALUE",
        help="override config keys, e.g. `runner.max_iters=100 optimizer.lr=0.1 workflow=\"[('train', 1)]\"` "
        "(values are Python literals; anything else is a string)",
    )


def with_options(cfg: dict[str, Any], options: list[tuple[str, Any]]) -> dict[str, Any]:
    """``cfg`` with the ``--cfg-options`` overrides applied; a bad one is named as the flag that gave it."""
    from runnerkit._errors import ConfigError
    from runnerkit.cli._common import CommandError
    from runnerkit.config import merge_options

    try:
        return merge_options(cfg, options)
    except ConfigError as err:
        raise CommandError(f"`--cfg-options`: {str(err).removeprefix('override ')}") from err


def add_parsers(sub: Any) -> None:
    """Register ``validate``."""
    p = sub.add_parser(
        "validate", help="check a config file without training",
        description="Check a config (.py, .json, .yaml, .toml) without training: section shapes, misspelt section "
        "names (`lr_confg`), unknown component names, and every section's arguments against the argument model of "
        "the component it names: runner, model, datasets, optimizer(s) and every hook (bad types, unknown keys, "
        "both max_iters and max_epochs). Every problem is printed at once as `file:line: key: message`, with the "
        "closest names for a misspelling. It checks what `runnerkit run` checks before training, so a config "
        "`run` would refuse (no `data.train`, a model without `train_step`, a `save_best` metric whose better "
        "direction is unknown) is refused here too; with `--partial`, only the sections the config has are checked "
        "(a config for `runnerkit.build` from Python, which supplies the rest). Nothing is built or called. Exit "
        "code 0 when valid, 1 otherwise. Note: a .py config is executed to read it.",
        epilog="examples:\n  runnerkit validate configs/my_job.py --cfg-options runner.max_iters=100\n"
        "  runnerkit validate --partial configs/runner_only.py",
        formatter_class=HelpFormatter,
    )
    p.add_argument("config", help="the config file")
    p.add_argument("--partial", action="store_true",
                   help="check only the sections the config has, not what `runnerkit run` also needs")
    add_cfg_options(p)
    p.set_defaults(handler=validate_command)


def validate_command(args: argparse.Namespace) -> int:
    from runnerkit.check import Problem, check_config, format_problems, run_work_dir
    from runnerkit.config import read_config
    from runnerkit.job_config import JobConfig

    cfg_file = read_config(args.config)
    cfg = with_options(cfg_file.data, args.cfg_options)
    problems = check_config(cfg, sources=cfg_file.sources, work_dir=run_work_dir(cfg, args.config))
    hint = ""
    if not problems and not args.partial:  # what `runnerkit run` refuses next, before building anything
        problems = [Problem(loc, message, where=str(args.config))
                    for loc, message in JobConfig.model_validate(cfg).missing_for_run()]
        hint = " (or, for a config completed from Python, check only its sections with `--partial`)"
    if problems:
        print(format_problems(problems))
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        print(f"\n{args.config}: {count}. Fix them and run `runnerkit validate {args.config}` again{hint}.")
        return 1
    sections = [k for k in ("runner", "model", "data", "optimizer", "lr_config", "momentum_config", "optimizer_config",
                            "checkpoint_config", "log_config", "evaluation", "custom_hooks", "workflow") if k in cfg]
    print(f"{args.config}: OK (checked: {', '.join(sections) or 'no sections'}).")
    return 0
