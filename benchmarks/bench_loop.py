"""Per-iteration cost of runnerkit's loop beside a hand-written loop and other frameworks' loops.

Every loop does the same work (``workload.py``): Linear(32,32)-ReLU-Linear(32,1), batch 64, SGD
with momentum, a step lr schedule by iteration, the loss logged every 50 iterations, 3000
iterations. Each measurement is a fresh process (``loop_worker.py``); rounds are interleaved
(every loop once per round, the order rotated each round) so that slow drifts of the machine
hit every loop alike. The table gives, per loop, the median µs per iteration, what it adds to
the hand-written loop and the ratio (medians of the differences and ratios with the same
round's hand-written loop), the best run and the ratio of the bests, and whether it ends with
the hand-written loop's weights. On a CPU the clock is the process's
CPU time per iteration (one torch thread: blind to waits for a busy core), the wall time beside
it; on a GPU the CUDA-event time, the host's CPU time beside it.

    python benchmarks/bench_loop.py                        # CPU, 1 thread: results/loop-cpu.md
    python benchmarks/bench_loop.py --device cuda          # CUDA events, peak memory, CUDA-graph row
    python benchmarks/bench_loop.py --profile              # Python calls and tensor allocations per iteration
    python benchmarks/bench_loop.py --instructions         # machine instructions per iteration (valgrind)
    python benchmarks/bench_loop.py --loops raw runnerkit --iters 200 --rounds 1 --out /tmp/x.md

Loops whose framework is not installed are left out with a note: ``pip install -e ".[bench]"``
brings pytorch-ignite, mmengine and Lightning; ``benchmarks/install_mmcv.sh`` adds mmcv 1.7.2.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import instructions
import torch
from machine import describe, device_slug
from peers import LOOPS, find
from report import calls_table, loop_table
from workload import Workload

HERE = Path(__file__).resolve().parent


def _worker(name: str, args: argparse.Namespace, tmp: str, tag: str, profile: bool = False) -> dict[str, Any]:
    result = os.path.join(tmp, f"{name}-{tag}.json")
    weights = os.path.join(tmp, f"{name}-{tag}.pt")
    cmd = [sys.executable, str(HERE / "loop_worker.py"), name, "--result", result, "--weights", weights,
           "--iters", str(args.iters), "--device", args.device, "--threads", str(args.threads)]
    if profile:
        cmd.append("--profile")
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp)
    if proc.returncode != 0:
        raise RuntimeError(f"The `{name}` loop failed (exit {proc.returncode}); its output ends with:\n{proc.stdout[-3000:]}")
    with open(result) as fh:
        out: dict[str, Any] = json.load(fh)
    out["weights"] = torch.load(weights)
    return out


def _select(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """The loops to run here, and a note for each one left out."""
    names = args.loops or [lp.name for lp in LOOPS]
    if "raw" not in names:
        names = ["raw", *names]
    chosen, notes = [], []
    for name in names:
        why = find(name).missing(args.device)
        if why is None:
            chosen.append(name)
        else:
            notes.append(f"`{name}` left out: {why}.")
    return chosen, notes


def _run_or_drop(name: str, names: list[str], notes: list[str], run: Any) -> dict[str, Any] | None:
    """Run one worker; a peer that fails is dropped from the table with a note (the raw loop may not fail)."""
    try:
        out: dict[str, Any] = run()
        return out
    except RuntimeError as err:
        if name == "raw":
            raise SystemExit(str(err)) from err
        print(err, file=sys.stderr)
        names.remove(name)
        notes.append(f"`{name}` left out: it failed ({str(err).splitlines()[0]}; see the run's output).")
        return None


def measure(args: argparse.Namespace, names: list[str], notes: list[str]) -> dict[str, list[dict[str, Any]]]:
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            shift = r % len(names)
            for name in names[shift:] + names[:shift]:
                t = time.perf_counter()
                out = _run_or_drop(name, names, notes, lambda name=name, r=r: _worker(name, args, tmp, f"r{r}"))
                if out is None:
                    del runs[name]
                    continue
                runs[name].append(out)
                print(f"round {r + 1}/{args.rounds} {name:18s} {out['us_per_iter']:9.1f} µs/iter, "
                      f"CPU {out['cpu_us_per_iter']:9.1f} ({time.perf_counter() - t:.1f} s)", file=sys.stderr, flush=True)
    return runs


def profile(args: argparse.Namespace, names: list[str], notes: list[str]) -> dict[str, dict[str, Any]]:
    counts: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in list(names):
            out = _run_or_drop(name, names, notes, lambda name=name: _worker(name, args, tmp, "profile", profile=True))
            if out is not None:
                counts[name] = out
    return counts


def count_instructions(args: argparse.Namespace, names: list[str], notes: list[str]) -> dict[str, dict[str, Any]]:
    counts: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in list(names):
            t = time.perf_counter()
            out = _run_or_drop(name, names, notes, lambda name=name: instructions.count(
                name, tmp, short=args.iters // 3, long=args.iters, cache_sim=args.cache_sim))
            if out is not None:
                counts[name] = out
                print(f"{name:18s} {out['per_iter']['Ir']:12,.0f} instructions/iter ({time.perf_counter() - t:.0f} s)",
                      file=sys.stderr, flush=True)
    return counts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--iters", type=int, help=f"iterations per run (default {Workload.iters}; 1000 with --profile)")
    p.add_argument("--rounds", type=int, default=9, help="interleaved rounds (one fresh process per loop per round)")
    p.add_argument("--threads", type=int, default=1, help="torch threads in each loop's process")
    p.add_argument("--loops", nargs="+", metavar="LOOP",
                   help=f"loops to run (raw is always added): {', '.join(lp.name for lp in LOOPS)}")
    p.add_argument("--profile", action="store_true",
                   help="count Python calls and tensor allocations per iteration instead of timing")
    p.add_argument("--instructions", action="store_true",
                   help="count machine instructions per iteration under valgrind's callgrind instead of timing (CPU)")
    p.add_argument("--cache-sim", action="store_true", help="with --instructions: simulate the caches too (slower)")
    p.add_argument("--out", help="markdown file to write (default: benchmarks/results/loop-<device>.md, "
                                 "calls-<device>.md with --profile, instructions-<device>.md with --instructions)")
    args = p.parse_args(argv)
    if args.iters is None:
        args.iters = 1000 if args.profile else 900 if args.instructions else Workload.iters
    if args.instructions and (args.device != "cpu" or instructions.missing()):
        print(f"`--instructions` counts on the CPU only, with valgrind: {instructions.missing() or 'use --device cpu'}.",
              file=sys.stderr)
        return 2
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"`--device {args.device}` asked for CUDA, but torch {torch.__version__} sees no CUDA device here.",
              file=sys.stderr)
        return 2
    names, notes = _select(args)
    load = os.getloadavg()[0]
    header = [f"Machine: {describe(args.device, args.threads)}", ""]
    if args.profile:
        header.insert(1, f"`python benchmarks/bench_loop.py --profile --device {args.device} --iters {args.iters}`")
        body = calls_table(profile(args, names, notes))
        default_out = HERE / "results" / f"calls-{device_slug(args.device)}.md"
    elif args.instructions:
        header.insert(1, f"`python benchmarks/bench_loop.py --instructions{' --cache-sim' if args.cache_sim else ''} "
                         f"--iters {args.iters}`: callgrind counts, per iteration, the difference between a run of "
                         f"{args.iters} and one of {args.iters // 3} iterations.")
        body = instructions.table(count_instructions(args, names, notes))
        default_out = HERE / "results" / f"instructions-{device_slug(args.device)}.md"
    else:
        header.insert(1, f"`python benchmarks/bench_loop.py --device {args.device} --iters {args.iters} "
                         f"--rounds {args.rounds} --threads {args.threads}`: {args.rounds} interleaved rounds, "
                         "a fresh process per run.")
        body = loop_table(measure(args, names, notes), cuda=args.device.startswith("cuda"))
        default_out = HERE / "results" / f"loop-{device_slug(args.device)}.md"
    header[0] += f"; load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    text = "\n".join([*header, *body, *(["", *notes] if notes else [])]) + "\n"
    print(text)
    out = Path(args.out) if args.out else default_out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"written to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
