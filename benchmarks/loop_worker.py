"""Runs one loop of ``bench_loop.py`` in this (fresh) process and writes what it measured as JSON.

    python benchmarks/loop_worker.py LOOP --result out.json [--weights w.pt] [--iters 3000]
        [--device cpu] [--threads 1] [--profile]

Timing: per-iteration seconds between the fetches of two batches (see ``workload.Clock``), by
the wall clock (CUDA events on a GPU) and by the process's CPU time; on
CUDA, the memory the loop adds above the model and data (``max_memory_allocated`` during the run
minus what was allocated before it). ``--profile`` instead counts, over the same iterations,
Python calls (cProfile) and tensor allocations (torch's profiler, memory events); a timed run
also records the Python memory blocks an iteration leaves allocated (``sys.getallocatedblocks``).
These counts are deterministic where times are not.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import logging
import os
import pstats
import resource
import subprocess
import sys
import tempfile
from collections.abc import Callable
from typing import Any

import torch
from peers import find
from workload import Clock, Workload, flat_weights


def _logger(work_dir: str) -> logging.Logger:
    """A logger writing to a file in the run's directory, as a training script's would."""
    log = logging.getLogger("bench")
    log.handlers.clear()
    log.addHandler(logging.FileHandler(os.path.join(work_dir, "run.log")))
    log.setLevel(logging.INFO)
    log.propagate = False
    return log


def _counters(device: str) -> tuple[list[Callable[[bool], None]], Callable[[int], dict[str, Any]]]:
    """Probes that count over the clock's window, and a function that reads them per iteration."""
    calls = cProfile.Profile()
    activities = [torch.profiler.ProfilerActivity.CPU]
    tensors = torch.profiler.profile(activities=activities, profile_memory=True, record_shapes=False)

    def count_tensors(first: bool) -> None:
        tensors.start() if first else tensors.stop()

    def count_calls(first: bool) -> None:
        calls.enable() if first else calls.disable()

    def read(iterations: int) -> dict[str, Any]:
        stats = pstats.Stats(calls)
        # the raw records: the parsed events fold most allocations into the op that made them
        records = tensors.profiler.kineto_results.events()  # type: ignore[union-attr]
        allocs = sum(1 for e in records if e.name() == "[memory]" and e.nbytes() > 0)
        return {
            "calls_per_iter": stats.total_calls / iterations,  # type: ignore[attr-defined]
            "tensor_allocs_per_iter": allocs / iterations,
            "calls_by_function": {f"{f}:{line}({name})": n / iterations
                                  for (f, line, name), (_, n, *_) in stats.stats.items()},  # type: ignore[attr-defined]
        }

    # cProfile innermost: it does not count the torch profiler's start and stop
    return [count_tensors, count_calls], read


def _callgrind_probe(first: bool) -> None:
    """Turn callgrind's instruction counting on at the first mark and off at the second.

    The process runs under ``valgrind --tool=callgrind --instr-atstart=no`` (``bench_loop.py
    --instructions``); ``callgrind_control`` reaches it through valgrind's gdb server. The
    toggle's own cost is the same for every loop and is not in the per-iteration difference.
    """
    subprocess.run(["callgrind_control", "-i", "on" if first else "off", str(os.getpid())],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("loop")
    p.add_argument("--result", required=True)
    p.add_argument("--weights")
    p.add_argument("--iters", type=int, default=Workload.iters)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--profile", action="store_true")
    p.add_argument("--callgrind", action="store_true", help="toggle callgrind's counting at the two marks")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    loop = find(args.loop)
    module = loop.load()  # the framework's import is not part of the measurement
    work = Workload(iters=args.iters, device=args.device)
    # skip the first iterations (first-call costs, lazy state); the window holds whole log intervals' worth
    start = min(work.iters // 30, 100) if work.iters >= 30 else 1
    clock = Clock(args.device, start=start, stop=work.iters - 1)
    kept: list[tuple[int, int]] = []  # (Python memory blocks, minor page faults) at the two marks
    read: Callable[[int], dict[str, Any]] | None = None
    if args.profile:
        clock.probes, read = _counters(args.device)
    elif args.callgrind:
        clock.probes = [_callgrind_probe]
    else:  # what an iteration leaves allocated and the page faults it takes; two calls, outside the timed window
        clock.probes = [lambda first: kept.append((sys.getallocatedblocks(),
                                                   resource.getrusage(resource.RUSAGE_SELF).ru_minflt))]
    cuda = args.device.startswith("cuda")
    if cuda and torch.device(args.device).index is not None:  # `cuda:N`: events, memory and Lightning use N
        torch.cuda.set_device(torch.device(args.device))
    net = work.make_net()
    data = work.make_data(clock)
    with tempfile.TemporaryDirectory() as work_dir:
        log = _logger(work_dir)
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            before = torch.cuda.memory_allocated()
        module.run(work, net, data, work_dir, log)
        for handler in log.handlers:
            handler.close()
    result: dict[str, Any] = {
        "loop": loop.name, "title": module.TITLE, "same_work": module.SAME_WORK, "version": loop.version(),
        "iterations": clock.iterations, "us_per_iter": clock.seconds() / clock.iterations * 1e6,
        "cpu_us_per_iter": clock.cpu_seconds() / clock.iterations * 1e6,
    }
    if kept:
        (blocks0, faults0), (blocks1, faults1) = kept
        result["blocks_per_iter"] = (blocks1 - blocks0) / clock.iterations
        result["faults_per_iter"] = (faults1 - faults0) / clock.iterations
    if cuda:
        result["peak_mib"] = (torch.cuda.max_memory_allocated() - before) / 2**20
    if read is not None:
        result.update(read(clock.iterations))
    if args.weights:
        torch.save(flat_weights(net), args.weights)
    with open(args.result, "w") as fh:
        json.dump(result, fh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
