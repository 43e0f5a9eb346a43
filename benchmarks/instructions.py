"""Machine instructions per iteration, counted by valgrind's callgrind (``bench_loop.py --instructions``).

Instruction counts do not move with the machine's load, its clock or its neighbours, so they
show a few per cent of difference that timings on a shared VM cannot. Each loop runs twice in
a fresh process under ``valgrind --tool=callgrind --instr-atstart=no``, with a short and a long
run; counting is switched on and off at the clock's two marks (``loop_worker.py --callgrind``),
and the figure per iteration is the difference of the two counts over the difference of their
iterations, so what the toggles and the window's edges cost cancels out. With
``cache_sim``, callgrind also simulates the caches (first-level instruction and data misses, and
last-level misses) and the branch predictors, the part of an iteration's cost that instruction
counts leave out, and adds KCachegrind's cycle estimate, which weighs each event by what it costs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

__all__ = ["CYCLES", "EVENTS", "MIN_COUNT", "count", "missing", "per_iteration", "table"]

HERE = Path(__file__).resolve().parent
#: callgrind's event names, and what the table calls them.
EVENTS = {"Ir": "instructions", "CEst": "cycle estimate", "I1mr": "L1 instruction misses",
          "D1mr": "L1 data read misses", "D1mw": "L1 data write misses", "ILmr": "LL instruction misses",
          "DLmr": "LL data read misses", "DLmw": "LL data write misses", "Bcm": "mispredicted conditional branches",
          "Bim": "mispredicted indirect branches"}
#: KCachegrind's cycle estimate (CEst): cycles charged per event, from the simulated caches and branches.
CYCLES = {"Ir": 1, "I1mr": 10, "D1mr": 10, "D1mw": 10, "ILmr": 100, "DLmr": 100, "DLmw": 100, "Bcm": 10, "Bim": 10}
#: below this many events per iteration the table gives no ratio (a handful of misses would read as a factor).
MIN_COUNT = 100


def missing() -> str | None:
    """Why instructions cannot be counted here, or None."""
    for tool in ("valgrind", "callgrind_control"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (Debian/Ubuntu: `apt install valgrind`)"
    return None


def _run(name: str, iters: int, tmp: str, cache_sim: bool) -> tuple[int, dict[str, int]]:
    """One run under callgrind: the counted iterations and the event totals."""
    out, result = os.path.join(tmp, f"{name}-{iters}.callgrind"), os.path.join(tmp, f"{name}-{iters}.json")
    cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
           *(["--cache-sim=yes", "--branch-sim=yes"] if cache_sim else []),
           sys.executable, str(HERE / "loop_worker.py"), name, "--result", result, "--iters", str(iters), "--callgrind"]
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # the same dict and set layouts in every run
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"The `{name}` loop failed under callgrind (exit {proc.returncode}); its output ends "
                           f"with:\n{proc.stdout[-3000:]}")
    events: list[str] = []
    totals: list[int] = []
    with open(out) as fh:
        for line in fh:
            if line.startswith("events:"):
                events = line.split()[1:]
            elif line.startswith("totals:"):
                totals = [int(x) for x in line.split()[1:]]
    with open(result) as fh:
        iterations = int(json.load(fh)["iterations"])
    return iterations, dict(zip(events, totals))


def count(name: str, tmp: str, short: int = 200, long: int = 700, cache_sim: bool = False) -> dict[str, Any]:
    """Events per iteration of loop ``name``: (long run's count - short run's) / (their iterations' difference).

    The two runs go side by side (two processes).
    """
    with ThreadPoolExecutor(2) as pool:
        a, b = pool.map(lambda n: _run(name, n, tmp, cache_sim), (short, long))
    iterations = b[0] - a[0]
    with open(os.path.join(tmp, f"{name}-{long}.json")) as fh:
        meta = json.load(fh)
    return {"loop": name, "title": meta["title"], "version": meta["version"],
            "per_iter": per_iteration(a[1], b[1], iterations)}


def per_iteration(short: dict[str, int], long: dict[str, int], iterations: int) -> dict[str, float]:
    """Events per iteration from two runs' totals, with the cycle estimate where the caches were simulated."""
    per_iter = {event: (long[event] - short[event]) / iterations for event in long}
    if all(event in per_iter for event in CYCLES):
        per_iter["CEst"] = sum(weight * per_iter[event] for event, weight in CYCLES.items())
    return per_iter


def table(counts: dict[str, dict[str, Any]]) -> list[str]:
    """Events per iteration and their ratio to the hand-written loop's."""
    raw = counts["raw"]["per_iter"]
    events = [e for e in EVENTS if e in raw]
    head = "| loop | " + " | ".join(f"{EVENTS[e]}/iter | ratio" for e in events) + " |"
    lines = [head, "|---|" + "---:|---:|" * len(events)]
    for c in counts.values():
        title = f"{c['title']} {c['version']}".strip()
        cells = [f"{c['per_iter'][e]:,.0f} | " + (f"{c['per_iter'][e] / raw[e]:.3f}" if raw[e] >= MIN_COUNT else "-")
                 for e in events]
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    return lines
