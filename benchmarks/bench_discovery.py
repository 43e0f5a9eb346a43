"""What discovery costs, with 0, 300 and 1000 extra installed distributions.

Run on demand (pytest does not collect it)::

    python benchmarks/bench_discovery.py            # writes benchmarks/results/discovery-cpu.md
    python benchmarks/bench_discovery.py --runs 3 --sizes 0,1000

Each size gets a folder of fake ``*.dist-info`` folders (METADATA, and for a third of them an
``entry_points.txt`` with console scripts; one in 250 declares runnerkit hooks) that is put first
on ``PYTHONPATH``. Its modification time is set in the past, because the discovery cache does not
trust a ``sys.path`` folder changed within 2 s of the cache being written.

Every command runs once untimed first (byte-code caches, file cache), then ``--runs`` times,
round-robin. Byte-code caching is on in the child processes even if ``PYTHONDONTWRITEBYTECODE``
is set here, as it is on a user's machine. Two tables, each of medians:

* **cold process**: the wall time of a whole ``python`` process (interpreter start included) for
  ``import runnerkit`` + a first ``build()``, ``python -m runnerkit list --json``, ``import torch``,
  a bare ``importlib.metadata.entry_points()``, and an empty ``python -c pass``; runnerkit's rows
  with a warm cache (written by an earlier process) and a cold one (an empty cache folder).
* **discovery alone**: inside a fresh process, the time of ``runnerkit._discovery.scan()`` (what
  listing and lookup read) with a warm and a cold cache, next to a bare
  ``importlib.metadata.entry_points()`` in a fresh process, and of ``Container().records()``
  with a warm cache.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULT = HERE / "results" / "discovery-cpu.md"

BUILD = """
import runnerkit, torch
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2, 1)
    def train_step(self, data, optimizer, **kwargs):
        return {}
runnerkit.build(dict(type="IterBasedRunner", max_iters=1), default_args=dict(model=Net()))
"""

# Timed inside a fresh process; prints one JSON object.
SCAN = """
import json, sys, time
t0 = time.perf_counter()
import runnerkit
from runnerkit import _discovery
t1 = time.perf_counter()
scans = []
_real = _discovery._scan_uncached
_discovery._scan_uncached = lambda path: scans.append(1) or _real(path)  # counts cache misses
t1b = time.perf_counter()
entries = _discovery.scan()
t2 = time.perf_counter()
records = runnerkit.Container().records()
t3 = time.perf_counter()
print(json.dumps({"import_ms": (t1 - t0) * 1e3, "scan_ms": (t2 - t1b) * 1e3, "records_ms": (t3 - t2) * 1e3,
                  "entries": len(entries), "hit": not scans, "torch": "torch" in sys.modules}))
"""

BARE = """
import json, time
t0 = time.perf_counter()
import importlib.metadata
eps = importlib.metadata.entry_points()
t1 = time.perf_counter()
print(json.dumps({"bare_ms": (t1 - t0) * 1e3, "groups": len(eps.groups)}))
"""


def make_dists(root: Path, count: int) -> Path:
    """``count`` fake installed distributions in a fresh folder under ``root``."""
    site = root / f"site-{count}"
    site.mkdir()
    for i in range(count):
        info = site / f"fake_dist_{i:04d}-1.{i}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: fake-dist-{i:04d}\nVersion: 1.{i}\nRequires-Dist: runnerkit>=0.1\n"
        )
        if i % 250 == 0:
            (info / "entry_points.txt").write_text(
                f"[runnerkit.hooks]\nFakeHook{i:04d} = fake_dist_{i:04d}.hooks:FakeHook\n"
            )
        elif i % 3 == 0:
            (info / "entry_points.txt").write_text(f"[console_scripts]\nfake-{i:04d} = fake_dist_{i:04d}.cli:main\n")
        (info / "RECORD").write_text("")
    return site


def age(*paths: Path) -> None:
    old = time.time() - 3600
    for path in paths:
        os.utime(path, (old, old))


def run(code: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, *code], env=env, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{code} failed:\n{proc.stderr}")
    return proc


class Variant:
    """One command to time: its argv, environment and what to do before each run."""

    def __init__(self, argv: list[str], env: dict[str, str], before: Callable[[], None] = lambda: None) -> None:
        self.argv, self.env, self.before = argv, env, before
        self.wall: list[float] = []
        self.printed: list[dict[str, Any]] = []


def measure(variants: dict[str, Variant], cwd: Path, runs: int) -> None:
    """Run every variant ``runs`` times, round-robin, so that load changes hit all of them alike."""
    for _ in range(runs):
        for variant in variants.values():
            variant.before()
            t0 = time.perf_counter()
            proc = run(variant.argv, variant.env, cwd)
            variant.wall.append((time.perf_counter() - t0) * 1e3)
            if variant.argv[-1] in (SCAN, BARE):
                variant.printed.append(json.loads(proc.stdout))


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def machine(load_start: tuple[float, float, float]) -> list[str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    torch_version = run(["-c", "import torch; print(torch.__version__)"], dict(os.environ), HERE).stdout.strip()
    return [
        f"- `uname -a`: `{' '.join(platform.uname())}`",
        f"- CPU: {cpu} ({os.cpu_count()} logical cores)",
        f"- Python {platform.python_version()} ({sys.executable}), torch {torch_version}",
        f"- load average (1 min) at the start and end of the run: {load_start[0]:.1f} and {os.getloadavg()[0]:.1f} "
        "(other work on the machine inflates the whole-process times; compare numbers within one row)",
    ]


def bench(sizes: Sequence[int], runs: int) -> str:
    load_start = os.getloadavg()
    checks: list[tuple[int, float, float]] = []
    lines_proc = [
        "| extra dists | `python -c pass` | `import runnerkit` | `import torch` | bare `entry_points()` | "
        "import + first `build()`, warm | same, cold | `runnerkit list --json`, warm | same, cold |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines_scan = [
        "| extra dists | `scan()` warm | `scan()` cold | bare `entry_points()` (in process) | cold / bare | "
        "`Container().records()` warm | `import runnerkit` | warm hits | cold misses | torch imported |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory(prefix="rk-bench-") as tmp:
        root = Path(tmp)
        cwd = root / "cwd"
        cwd.mkdir()
        for count in sizes:
            site = make_dists(root, count)
            cold_dir = root / f"cache-cold-{count}"
            age(site, cwd, root)
            # Byte-code caching on, as on a user's machine (the `__pycache__` folders are git-ignored).
            base = {k: v for k, v in os.environ.items() if not k.startswith("RUNNERKIT_") and k != "PYTHONDONTWRITEBYTECODE"}
            base["PYTHONPATH"] = str(site)
            warm = {**base, "RUNNERKIT_CACHE_DIR": str(root / f"cache-warm-{count}")}
            cold = {**base, "RUNNERKIT_CACHE_DIR": str(cold_dir)}

            def clear_cold(folder: Path = cold_dir) -> None:
                shutil.rmtree(folder, ignore_errors=True)

            run(["-c", "import runnerkit; runnerkit.Container().records()"], warm, cwd)
            time.sleep(2.1)  # let the cache write age past the racy window
            run(["-c", "import runnerkit; runnerkit.Container().records()"], warm, cwd)

            v = {
                "pass": Variant(["-c", "pass"], base),
                "torch": Variant(["-c", "import torch"], base),
                "bare": Variant(["-c", "import importlib.metadata as m; m.entry_points()"], base),
                "import": Variant(["-c", "import runnerkit"], warm),
                "build_warm": Variant(["-c", BUILD], warm),
                "build_cold": Variant(["-c", BUILD], cold, clear_cold),
                "list_warm": Variant(["-m", "runnerkit", "list", "--json"], warm),
                "list_cold": Variant(["-m", "runnerkit", "list", "--json"], cold, clear_cold),
                "scan_warm": Variant(["-c", SCAN], warm),
                "scan_cold": Variant(["-c", SCAN], cold, clear_cold),
                "bare_inner": Variant(["-c", BARE], base),
            }
            measure(v, cwd, 1)  # warm-up: byte-code caches, the OS's file cache
            for variant in v.values():
                variant.wall.clear()
                variant.printed.clear()
            measure(v, cwd, runs)
            wall = {name: median(var.wall) for name, var in v.items()}
            lines_proc.append(
                f"| {count} | {wall['pass']:.0f} | {wall['import']:.0f} | {wall['torch']:.0f} | {wall['bare']:.0f} | "
                f"{wall['build_warm']:.0f} | {wall['build_cold']:.0f} | {wall['list_warm']:.0f} | {wall['list_cold']:.0f} |"
            )
            warm_s, cold_s = v["scan_warm"].printed, v["scan_cold"].printed
            scan_warm = median(x["scan_ms"] for x in warm_s)
            scan_cold = median(x["scan_ms"] for x in cold_s)
            bare = median(x["bare_ms"] for x in v["bare_inner"].printed)
            lines_scan.append(
                f"| {count} | {scan_warm:.2f} | {scan_cold:.2f} | {bare:.2f} | {scan_cold / bare:.2f} | "
                f"{median(x['records_ms'] for x in warm_s):.2f} | {median(x['import_ms'] for x in warm_s):.0f} | "
                f"{sum(x['hit'] for x in warm_s)}/{len(warm_s)} | {sum(not x['hit'] for x in cold_s)}/{len(cold_s)} | "
                f"{'yes' if any(x['torch'] for x in warm_s + cold_s) else 'no'} |"
            )
            checks.append((count, scan_warm, scan_cold / bare))
            print(lines_proc[-1], lines_scan[-1], sep="\n", file=sys.stderr)
    warm_all = [w for _, w, _ in checks]
    verdict = [
        f"- warm `scan()` under 2 ms at every size: {'yes' if max(warm_all) < 2 else 'NO'} "
        f"(max {max(warm_all):.2f} ms); flat in the number of distributions: warm at {checks[-1][0]} / warm at "
        f"{checks[0][0]} = {warm_all[-1] / warm_all[0]:.2f} (sub-millisecond noise moves this by tens of percent)",
        f"- cold `scan()` no slower than the bare scan: {'yes' if all(r <= 1 for *_, r in checks) else 'NO'} "
        f"(cold / bare: {', '.join(f'{r:.2f} at {n}' for n, _, r in checks)})",
    ]
    return "\n".join(
        [
            "# Discovery benchmark (CPU)",
            "",
            f"`python benchmarks/bench_discovery.py --runs {runs} --sizes {','.join(map(str, sizes))}`, "
            f"{time.strftime('%Y-%m-%d')}. Times in ms, medians.",
            "",
            *machine(load_start),
            "",
            "## Whole processes (interpreter start included)",
            "",
            *lines_proc,
            "",
            "## Discovery alone, inside a fresh process",
            "",
            "`scan()` is what listing and name lookup read (entry points of every distribution on",
            "`sys.path`); warm reads the cache, cold scans and writes it. The bare scan is",
            "`import importlib.metadata; entry_points()` timed the same way. `warm hits`: runs in which",
            "the cache was used (no scan ran); `cold misses`: runs that really scanned. `torch imported`:",
            "whether `import runnerkit` + `scan()` + `Container().records()` imported torch in any run.",
            "",
            *lines_scan,
            "",
            "`Container().records()` can include a garbage collection that the first allocations after",
            "the imports trigger (2-4 ms when the machine is busy; 0.8 ms with `gc.disable()`).",
            "",
            "## Goals",
            "",
            *verdict,
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="processes per measurement (median)")
    parser.add_argument("--sizes", default="0,300,1000", help="numbers of extra distributions")
    parser.add_argument("--out", type=Path, default=RESULT, help="where to write the markdown table")
    args = parser.parse_args(argv)
    table = bench([int(s) for s in args.sizes.split(",")], args.runs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
