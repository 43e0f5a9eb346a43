"""Paired, finely interleaved timing of one loop against the hand-written loop, in the same process.

Fresh-process timings on a shared VM move by 10-20 % from one process to the next (the machine's
speed drifts while a run lasts), which hides a 5 % difference. Here the two loops share one
process and take turns: each runs in its own thread, and every ``--every`` iterations (at a
batch fetch, the clock's place) it hands the turn to the other, so the two loops alternate in
segments of a few milliseconds and any drift of the machine hits both alike. The process is
pinned to one core, so neither loop gets a faster core or caches of its own. Each segment is
timed by its thread's own CPU clock (``time.thread_time``), so the hand-over itself is not
counted. Segment ``j`` of one loop and segment ``j`` of the other are a pair; the ratio is the
median over all pairs (of every round) of their ratio, and ``added`` the median difference.

    python benchmarks/bench_paired.py                          # runnerkit vs raw: results/paired-cpu.md
    python benchmarks/bench_paired.py --loops raw runnerkit runnerkit-opt --rounds 20   # raw: a control

Each round is a fresh process per pair of loops, the loop that starts alternating between
rounds (use an even number of rounds). ``raw`` among the loops is a control: the hand-written
loop paired with itself, whose ratio shows the method's own error. Segments hold whole log
intervals (``--every`` is the workload's log interval by default), so every segment of both loops
holds one log line. CPU only: on a GPU, time with ``bench_loop.py --device cuda`` (CUDA events).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))


class Baton:
    """Two threads taking turns: :meth:`hand_off` gives the turn to the other and waits for it back."""

    def __init__(self) -> None:
        self._turn = [threading.Event(), threading.Event()]
        self._finished = [False, False]
        self._turn[0].set()

    def wait_turn(self, me: int) -> None:
        self._turn[me].wait()

    def hand_off(self, me: int) -> None:
        other = 1 - me
        if self._finished[other]:
            return
        self._turn[me].clear()
        self._turn[other].set()
        self._turn[me].wait()

    def finish(self, me: int) -> None:
        self._finished[me] = True
        self._turn[1 - me].set()


def _segmented(batches: Any, baton: Baton, me: int, every: int, segments: list[float]) -> Any:
    """``batches`` whose iteration hands the turn over every ``every`` fetches inside the clock's window."""
    from workload import Batches

    start, stop = batches.clock.start, batches.clock.stop

    class Segmented(Batches):
        def __iter__(self) -> Iterator[Any]:
            pool, k = self.pool, len(self.pool)
            resumed = 0.0
            baton.wait_turn(me)
            for i in range(self.n):
                if start <= i <= stop and (i - start) % every == 0:
                    now = time.thread_time()
                    if i > start:
                        segments.append(now - resumed)
                    if i < stop:
                        baton.hand_off(me)
                        resumed = time.thread_time()
                yield pool[i % k]

    return Segmented(batches.pool, batches.n, batches.clock)


def _worker(names: list[str], iters: int, every: int, result: str) -> None:
    """Run two loops in two threads of this process, taking turns; write their segments as JSON."""
    sys.path.insert(0, HERE)
    import torch
    from peers import find
    from workload import Clock, Workload, flat_weights

    torch.set_num_threads(1)
    if hasattr(os, "sched_setaffinity"):  # both threads on one core: neither gets a faster core or warmer caches
        os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
    work = Workload(iters=iters)
    stop = work.iters - 1 - (work.iters - 1 - 100) % every  # whole segments from batch 100 on
    baton = Baton()
    modules = [find(name) for name in names]
    loaded = [loop.load() for loop in modules]
    nets = [work.make_net() for _ in names]  # made here, one after the other: the same initial weights
    segments: list[list[float]] = [[], []]
    datas = [_segmented(work.make_data(Clock("cpu", start=100, stop=stop)), baton, me, every, segments[me])
             for me in range(2)]
    errors: list[BaseException] = []

    def run(me: int, work_dir: str) -> None:
        log = logging.getLogger(f"bench.paired.{me}")
        log.handlers[:] = [logging.FileHandler(os.path.join(work_dir, "run.log"))]
        log.setLevel(logging.INFO)
        log.propagate = False
        try:
            loaded[me].run(work, nets[me], datas[me], work_dir, log)
        except BaseException as exc:  # re-raised in the main thread
            errors.append(exc)
        finally:
            for handler in log.handlers:
                handler.close()
            baton.finish(me)

    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        threads = [threading.Thread(target=run, args=(me, d)) for me, d in enumerate((a, b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    if errors:
        raise errors[0]
    same = bool(torch.equal(flat_weights(nets[0]), flat_weights(nets[1])))
    with open(result, "w") as fh:
        json.dump({"names": names, "titles": [m.TITLE for m in loaded], "versions": [m.version() for m in modules],
                   "same_work": [m.SAME_WORK for m in loaded], "segments": segments, "every": every,
                   "weights_equal": same}, fh)


def _roles(r: dict[str, Any]) -> tuple[list[float], list[float]]:
    """A round's segments: the loop under test's, the reference's (in a ``raw``/``raw`` control, the thread that plays the loop)."""
    i = r["loop_index"]
    return r["segments"][i], r["segments"][1 - i]


def _row(name: str, rounds: list[dict[str, Any]]) -> str:
    ratios: list[float] = []
    added: list[float] = []
    us: list[float] = []
    raw_us: list[float] = []
    per_round: list[float] = []
    for r in rounds:
        mine, raw = _roles(r)
        every = r["every"]
        per_round.append(statistics.median(x / y for x, y in zip(mine, raw)))
        for x, y in zip(mine, raw):
            ratios.append(x / y)
            added.append((x - y) / every * 1e6)
            us.append(x / every * 1e6)
            raw_us.append(y / every * 1e6)
    q1, _, q3 = statistics.quantiles(ratios, n=4)
    first = rounds[0]
    i = first["loop_index"]
    title = f"{first['titles'][i]} {first['versions'][i]}".strip()
    if name == "raw":
        title += " (control: the same loop twice)"
    weights = ("equal" if all(r["weights_equal"] for r in rounds) else "differ") if first["same_work"][i] else "n/a (less work)"
    return (f"| {title} | {statistics.median(us):.1f} | {statistics.median(raw_us):.1f} | "
            f"{statistics.median(added):+.1f} | **{statistics.median(ratios):.3f}** | {q1:.3f}-{q3:.3f} | "
            f"{statistics.median(per_round):.3f} ({min(per_round):.3f}-{max(per_round):.3f}) | {len(ratios)} | {weights} |")


def _table(results: dict[str, list[dict[str, Any]]]) -> list[str]:
    return ["| loop | µs/iter | raw µs/iter | added µs/iter | ratio to raw (median of pairs) | middle half of the ratios "
            "| per-round median ratio: median (range) | pairs | final weights vs raw |",
            "|---|---:|---:|---:|---:|---|---|---:|---|",
            *(_row(name, rounds) for name, rounds in results.items())]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--loops", nargs="+", default=["runnerkit"], help="loops to pair with raw (names as bench_loop.py)")
    p.add_argument("--rounds", type=int, default=6, help="fresh processes per loop (even: each loop starts as often)")
    p.add_argument("--iters", type=int, default=3000)
    p.add_argument("--every", type=int, default=50, help="iterations per turn (default: the log interval)")
    p.add_argument("--out", default=os.path.join(HERE, "results", "paired-cpu.md"))
    p.add_argument("--worker", nargs=2, metavar=("LOOP_A", "LOOP_B"), help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        _worker(list(args.worker), args.iters, args.every, args.result)
        return 0
    sys.path.insert(0, HERE)
    from machine import describe

    header = describe("cpu", 1)
    started = datetime.now(timezone.utc)
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in args.loops}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.rounds):
            for name in args.loops:
                pair = ["raw", name] if k % 2 == 0 else [name, "raw"]  # the loop that starts alternates
                out = os.path.join(tmp, f"{name}-{k}.json")
                cmd = [sys.executable, os.path.abspath(__file__), "--worker", *pair, "--result", out,
                       "--iters", str(args.iters), "--every", str(args.every)]
                subprocess.run(cmd, check=True)
                with open(out) as fh:
                    results[name].append({**json.load(fh), "loop_index": 1 if k % 2 == 0 else 0})
                print(f"round {k + 1}/{args.rounds}: {name}", file=sys.stderr)
    ended = datetime.now(timezone.utc)
    lines = [
        f"Machine: {header}",
        f"`python benchmarks/bench_paired.py {' '.join(argv if argv is not None else sys.argv[1:])}`: "
        f"{args.rounds} rounds (a fresh process per loop and round), turns of {args.every} iterations, "
        f"measured {started:%H:%M}-{ended:%H:%M} UTC on {started:%Y-%m-%d}.",
        "",
        *_table(results),
        "",
        "µs/iter: medians over the segments (each segment's thread CPU time / its iterations); added, ratio: "
        "medians over the pairs (segment j of the loop, segment j of the hand-written loop, run one after the "
        "other in the same process).",
    ]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwritten to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
