"""``runnerkit run CONFIG`` and ``runnerkit demo``: build a whole job from a config and train."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runnerkit._errors import ConfigError, TrainingInterrupted
from runnerkit.cli._common import HelpFormatter
from runnerkit.cli.validate import add_cfg_options, with_options

__all__ = ["add_parsers", "demo_command", "DEMO_WORK_DIR", "LAUNCHERS", "resolve_launcher", "run_command", "train"]


DEMO_WORK_DIR = os.path.join("work_dirs", "demo")
_LATEST = "latest"
#: the ``--launcher`` values of ``runnerkit run``.
LAUNCHERS = ("none", "torchrun", "pytorch", "slurm", "mpi")


def add_parsers(sub: Any) -> None:
    """Register ``run`` and ``demo``."""
    p = sub.add_parser(
        "run", help="train the job a config file describes",
        description="Build the model, data, optimizer(s), runner and hooks a config describes (through the component "
        "container) and train. The config is checked first, as `runnerkit validate` does. Checkpoints and logs go "
        "into the work dir: --work-dir, else the config's `work_dir`, else ./work_dirs/<config name>. One run per "
        "work dir: while a run holds it, another `run` there is refused before it touches anything, naming the running "
        "process. SIGTERM (to the process or its whole group, DataLoader workers included) or Ctrl-C finishes the "
        "iteration in flight, saves a checkpoint there and exits 143 (130); a SIGTERM before training starts exits 143 "
        "too. Note: a .py config is executed to read it. The closing line counts what this run did (iterations, or "
        "epochs for EpochBasedRunner, and the time it took).",
        epilog="examples:\n  runnerkit run configs/my_job.py\n  runnerkit run configs/my_job.py --resume\n"
        "  runnerkit run configs/my_job.yaml --work-dir /tmp/w --cfg-options runner.max_iters=100\n"
        "  torchrun --nproc_per_node 2 -m runnerkit run configs/my_job.py",
        formatter_class=HelpFormatter,
    )
    p.add_argument("config", help="the config file (.py, .json, .yaml, .toml)")
    p.add_argument("--work-dir", help="where checkpoints and logs go (overrides the config's `work_dir`)")
    p.add_argument("--resume", nargs="?", const=_LATEST, metavar="CKPT",
                   help="resume exactly from CKPT; without a value, from the work dir's latest checkpoint (in "
                   "`checkpoint_config.out_dir` when the config sets one); `auto`: from the latest when there is one, "
                   "else start fresh, never refused (for jobs a scheduler or torchrun restarts). A run "
                   "that is already finished says so (finished at iteration N) and exits 0 without writing logs")
    p.add_argument("--overwrite", action="store_true",
                   help="start a fresh run even in a work dir that holds another run's checkpoints, deleting them "
                   "first (without it, such a run is refused)")
    add_cfg_options(p)
    p.add_argument("--launcher", choices=LAUNCHERS, default=None,
                   help="`torchrun` (or mmcv's `pytorch`): train data-parallel on every process torchrun started (the "
                   "default under torchrun); `slurm`/`mpi`: the processes `srun`/`mpirun` started are the ranks "
                   "(their SLURM_*/OMPI_COMM_WORLD_* variables; the default when several tasks were started); `none`: "
                   "one process")
    _add_verbose(p)
    p.set_defaults(handler=run_command)

    p = sub.add_parser(
        "demo", help="train a small built-in model on built-in synthetic data",
        description="Train DemoModel (a small MLP) on DemoDataset (synthetic spirals, nothing to download) with "
        "IterBasedRunner and the standard hooks, then print where the checkpoints and the JSON log are. "
        "It takes seconds on a laptop CPU. The demo starts its work dir over: a previous demo's checkpoints there are "
        "deleted first, and it says so.",
        epilog=f"examples:\n  runnerkit demo\n  runnerkit demo --work-dir /tmp/demo --max-iters 200\n"
        f"  runnerkit plot {DEMO_WORK_DIR}",
        formatter_class=HelpFormatter,
    )
    p.add_argument("--work-dir", default=DEMO_WORK_DIR, help=f"where checkpoints and logs go (default: {DEMO_WORK_DIR})")
    p.add_argument("--max-iters", type=_positive_int, default=600, help="training iterations (default: 600)")
    _add_verbose(p)
    p.set_defaults(handler=demo_command)


def _add_verbose(p: argparse.ArgumentParser) -> None:
    p.add_argument("-v", "--verbose", action="store_true",
                   help="also print debug messages, such as the table of which hooks run at which stage")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got `{text}`")
    return value


def run_command(args: argparse.Namespace) -> int:
    from runnerkit._signal_exit import exit_on_signals

    with exit_on_signals():  # a SIGTERM while building (or after training) exits 143 too, and repeats are ignored
        try:
            return _run_command(args)
        except TrainingInterrupted as stop:
            return report_interrupted(stop, getattr(args, "argv", None))


def _run_command(args: argparse.Namespace) -> int:
    from runnerkit.check import check_config, format_problems, run_work_dir
    from runnerkit.config import read_config
    launcher = resolve_launcher(args.launcher)
    cfg_file = read_config(args.config)
    cfg = with_options(cfg_file.data, args.cfg_options)
    name = Path(args.config).stem
    work_dir = run_work_dir(cfg, args.config, args.work_dir)
    problems = check_config(cfg, sources=cfg_file.sources, work_dir=work_dir)
    if problems:
        print(format_problems(problems))
        raise ConfigError(f"`{args.config}` has {len(problems)} problem(s), listed above; nothing was trained.")
    resume: str | bool | None = None
    if args.resume == _LATEST:
        resume = True
    elif args.resume is not None:
        resume = args.resume
    overwrite = True if args.overwrite else None
    if launcher != "none":
        from runnerkit.launch import distributed_session, join_launcher

        dist_params = join_launcher(launcher, cfg.get("dist_params"))
        with distributed_session(dist_params, work_dir):
            train(cfg, work_dir=work_dir, name=name, resume=resume, overwrite=overwrite, verbose=args.verbose,
                  sources=cfg_file.sources)
    else:
        train(cfg, work_dir=work_dir, name=name, resume=resume, overwrite=overwrite, verbose=args.verbose,
              sources=cfg_file.sources)
    return 0


def resolve_launcher(requested: str | None, environ: Mapping[str, str] | None = None) -> str:
    """``"torchrun"``, ``"slurm"``, ``"mpi"`` or ``"none"``: ``requested`` (``pytorch`` is mmcv's name for
    ``torchrun``), or (None) what started this process: torchrun, else a scheduler that started several
    tasks (they join as one job), else one process.

    Raises:
        DistributedError: ``torchrun`` asked for outside torchrun, or ``none`` where torchrun or a
            scheduler started several processes (they would all train alone into one work dir).
    """
    from runnerkit import dist
    from runnerkit.dist import DistributedError
    from runnerkit.schedulers import detect_scheduler

    env = dict(os.environ if environ is None else environ)
    if requested is not None and requested not in LAUNCHERS:
        raise DistributedError(f"Unknown launcher `{requested}`; expected one of {', '.join(LAUNCHERS)}.")
    if requested == "pytorch":
        requested = "torchrun"
    # MASTER_ADDR/MASTER_PORT alone are a scheduler job's (exported for `--launcher slurm`), not torchrun's
    started = dist.torchrun_env(env) if any(k in env for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK")) else None
    if requested == "torchrun" and started is None:
        raise DistributedError(
            "`--launcher torchrun` needs a process started by torchrun, but `RANK`/`WORLD_SIZE` are not set: run "
            "`torchrun --nproc_per_node N -m runnerkit run CONFIG --launcher torchrun`."
        )
    scheduled = detect_scheduler(env) if started is None else None
    if requested == "none":
        if started is not None and started.world_size > 1:
            raise DistributedError(
                f"`--launcher none`, but torchrun started {started.world_size} processes: each would train alone and "
                "overwrite the others' checkpoints. Drop `--launcher none` (or pass `--launcher torchrun`)."
            )
        if scheduled is not None:
            kind, rank, size = scheduled
            raise DistributedError(
                f"`--launcher none`, but {_SCHEDULER_NAMES[kind]} started this process as task {rank} of {size}: each "
                f"task would train the whole job alone into one work dir. Drop `--launcher none` (or pass "
                f"`--launcher {kind}`) to train as one job of {size} ranks, or start a single task."
            )
    if requested is None:
        if started is not None:
            return "torchrun"
        return scheduled[0] if scheduled is not None else "none"
    return requested


_SCHEDULER_NAMES = {"slurm": "Slurm (`SLURM_PROCID`/`SLURM_NTASKS`)", "mpi": "MPI (`OMPI_COMM_WORLD_RANK`/`_SIZE`)"}


def demo_command(args: argparse.Namespace) -> int:
    from runnerkit.demo import demo_config
    from runnerkit.workdir import previous_run_files

    previous = previous_run_files(args.work_dir)
    if previous:
        print(f"Starting the demo in `{args.work_dir}` over: deleting the previous demo's checkpoints "
              f"({', '.join(previous)}).")
    from runnerkit._signal_exit import exit_on_signals

    with exit_on_signals():
        try:
            train(demo_config(args.max_iters), work_dir=args.work_dir, name="demo", overwrite=True,
                  verbose=args.verbose)
        except TrainingInterrupted as stop:
            return report_interrupted(stop, None)
    return 0


def report_interrupted(stop: TrainingInterrupted, argv: list[str] | None) -> int:
    """Say where a run stopped by a signal saved its work and the command that resumes it; the exit status."""
    if int(os.environ.get("RANK", "0")) != 0:  # every rank saved its part; one prints
        return int(stop.code or 1)
    name = signal.Signals(stop.signal).name
    if stop.iteration is None:
        print(f"\nStopped by {name} while no training iteration was running (building the job, or after "
              "training); nothing needed saving.", flush=True)
        return int(stop.code or 1)
    print(f"\nTraining stopped by {name} after iteration {stop.iteration}.", flush=True)
    if stop.checkpoint is None:
        print("  No work dir, so no checkpoint was saved.", flush=True)
    elif argv is None:
        print(f"  checkpoint: {stop.checkpoint}", flush=True)
    else:
        print(f"  checkpoint: {stop.checkpoint}\nResume with:\n  {resume_command(argv, stop.checkpoint)}", flush=True)
    return int(stop.code or 1)


def resume_command(argv: list[str], checkpoint: str) -> str:
    """The command line that resumes ``runnerkit ARGV`` from ``checkpoint`` (under torchrun: as torchrun started it)."""
    kept: list[str] = []
    skip_value = False
    for token in argv:
        if skip_value:
            skip_value = False
            if not token.startswith("-"):
                continue
        if token == "--resume":
            skip_value = True
            continue
        if token.startswith("--resume=") or token == "--overwrite":  # resuming never starts over
            continue
        kept.append(token)
    command = ["runnerkit", *kept, "--resume", checkpoint]
    local = os.environ.get("LOCAL_WORLD_SIZE")
    if local is not None and "TORCHELASTIC_RUN_ID" in os.environ:
        nodes = max(1, int(os.environ.get("WORLD_SIZE", local)) // max(1, int(local)))
        where = ["--standalone"] if nodes == 1 else [f"--nnodes={nodes}", "--rdzv-endpoint=HOST:PORT"]
        command = ["torchrun", *where, f"--nproc-per-node={local}", "-m", *command]
    return shlex.join(command)


def train(
    cfg: dict[str, Any], *, work_dir: str, name: str, resume: str | bool | None = None, overwrite: bool | None = None,
    verbose: bool = False, sources: list[Path] | None = None,
) -> None:
    """Build the job, save its config into the work dir, train, and say where everything went.

    ``sources`` are the config's files (a config of ``.py`` files only is code; see docs/security.md).
    """
    import logging

    import torch

    from runnerkit._summary import Progress, finished_message
    from runnerkit.cli._logging import job_logging, log_file
    from runnerkit.job import build_job

    text = json.dumps(cfg, indent=2, default=repr)
    threads = torch.get_num_threads()  # a config's `num_threads` holds for this job only
    try:
        with job_logging(level=logging.DEBUG if verbose else logging.INFO) as logger:
            job = build_job(cfg, work_dir=work_dir, resume=resume, overwrite=overwrite, logger=logger,
                            meta={"exp_name": name, "config": text}, sources=sources or ())
            runner = job.runner
            finished = finished_message(runner)
            if finished is not None:  # a resumed run with nothing left to do: no new logs
                if runner.rank == 0:
                    print(f"The run in {runner.work_dir} is {finished}.")
                return
            progress = Progress(runner)
            saved_config = os.path.join(runner.work_dir, f"{name}.json")
            main = runner.rank == 0  # the other ranks of a distributed job write nothing
            if main:
                with open(saved_config, "w", encoding="utf-8") as fh:
                    fh.write(text + "\n")
            start = time.perf_counter()
            log_path = os.path.join(runner.work_dir, f"{runner.timestamp}.log")
            with log_file(logger, log_path) if main else contextlib.nullcontext():
                job.run()
            seconds = time.perf_counter() - start
    finally:
        torch.set_num_threads(threads)
    if main:
        _summary(runner, saved_config, log_path, seconds, progress)


def _summary(runner: Any, saved_config: str, log_path: str, seconds: float, progress: Any) -> None:
    from runnerkit._summary import closing_line
    from runnerkit.workdir import is_tmp_file

    work_dir = Path(runner.work_dir)
    shown = os.path.relpath(work_dir) if not os.path.relpath(work_dir).startswith("..") else str(work_dir)
    checkpoints = sorted(  # real files only: not the `latest.pth` link, not a killed save's temporary file
        (p for p in work_dir.glob("*.pth") if not is_tmp_file(p.name) and not p.is_symlink()),
        key=lambda p: (p.stat().st_mtime, p.name),
    )
    logs = sorted(work_dir.glob("*.log.json"), key=lambda p: p.stat().st_mtime)
    print()
    print(closing_line(runner, progress, seconds))
    print(f"  work dir:    {shown}")
    if checkpoints:
        print(f"  checkpoints: {', '.join(p.name for p in checkpoints)}")
    if os.path.exists(log_path):
        print(f"  text log:    {os.path.join(shown, os.path.basename(log_path))}")
    if logs:
        print(f"  JSON log:    {os.path.join(shown, logs[-1].name)}")
    print(f"  config:      {os.path.join(shown, os.path.basename(saved_config))}")
    if logs:
        print(f"Plot the curves:  runnerkit plot {shown}")
