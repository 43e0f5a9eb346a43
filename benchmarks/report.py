"""Markdown tables from the loops' measurements (``bench_loop.py``)."""

from __future__ import annotations

import statistics
from typing import Any

import torch

__all__ = ["calls_table", "loop_table"]


def _weights(run: dict[str, Any], raw: dict[str, Any]) -> str:
    if run["loop"] == "raw":
        return "(reference)"
    if not run["same_work"]:
        return "n/a (less work)"
    if torch.equal(run["weights"], raw["weights"]):
        return "equal"
    return f"max diff {(run['weights'] - raw['weights']).abs().max().item():.1e}"


def _title(run: dict[str, Any]) -> str:
    return f"{run['title']} {run['version']}".strip()


def _short(where: str) -> str:
    """A profiled function's file, from ``site-packages/`` or from the repository's top folders."""
    if "site-packages/" in where:
        return where.split("site-packages/", 1)[1]
    for marker in ("/runnerkit/", "/benchmarks/"):
        if marker in where:
            return marker.strip("/") + "/" + where.rsplit(marker, 1)[1]
    return where


def loop_table(runs: dict[str, list[dict[str, Any]]], cuda: bool) -> list[str]:
    """Per loop: µs/iter, what it adds to the hand-written loop and the ratio (medians of same-round pairs).

    On a CPU the clock is the process's CPU time (robust on a shared machine), the wall clock
    beside it; on a GPU it is the CUDA-event time, the host's CPU time beside it. Interference
    from other processes only ever adds time, so the best run of each loop and the ratio of the
    bests are given too.
    """
    key, other = ("us_per_iter", "cpu_us_per_iter") if cuda else ("cpu_us_per_iter", "us_per_iter")
    names = ("GPU", "host CPU") if cuda else ("CPU", "wall")
    raw = runs["raw"]
    best_raw = min(r[key] for r in raw)
    head = (f"| loop | {names[0]} µs/iter | added µs/iter | ratio to raw | best µs/iter | ratio of bests "
            f"| {names[1]} µs/iter | runs | final weights vs raw | Python blocks kept/iter | page faults/iter |")
    rule = "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|"
    if cuda:
        head += " peak MiB added |"
        rule += "---:|"
    lines = [head, rule]
    for loop_runs in runs.values():
        pairs = list(zip(raw, loop_runs))
        best = min(r[key] for r in loop_runs)
        row = (f"| {_title(loop_runs[0])} | {statistics.median(r[key] for r in loop_runs):.1f} "
               f"| {statistics.median(b[key] - a[key] for a, b in pairs):+.1f} "
               f"| {statistics.median(b[key] / a[key] for a, b in pairs):.2f} | {best:.1f} | {best / best_raw:.2f} "
               f"| {statistics.median(r[other] for r in loop_runs):.1f} | {len(loop_runs)} "
               f"| {_weights(loop_runs[0], raw[0])} | {statistics.median(r['blocks_per_iter'] for r in loop_runs):.2f} "
               f"| {statistics.median(r['faults_per_iter'] for r in loop_runs):.3f} |")
        if cuda:
            row += f" {statistics.median(r['peak_mib'] for r in loop_runs):.2f} |"
        lines.append(row)
    lines += ["", "µs/iter: median over the rounds; added, ratio: medians of the differences and ratios with the "
                  "same round's hand-written loop; best: the fastest run."]
    return lines


def calls_table(counts: dict[str, dict[str, Any]]) -> list[str]:
    """Python calls and tensor allocations per iteration, and what each loop adds to the raw one's."""
    raw = counts["raw"]
    lines = ["| loop | Python calls/iter | added to raw | tensor allocations/iter | added to raw |",
             "|---|---:|---:|---:|---:|"]
    for c in counts.values():
        lines.append(f"| {_title(c)} | {c['calls_per_iter']:.1f} | {c['calls_per_iter'] - raw['calls_per_iter']:+.1f} "
                     f"| {c['tensor_allocs_per_iter']:.1f} | {c['tensor_allocs_per_iter'] - raw['tensor_allocs_per_iter']:+.1f} |")
    base = raw["calls_by_function"]
    for c in counts.values():
        if c["loop"].startswith("runnerkit"):
            added = {where: n - base.get(where, 0.0) for where, n in c["calls_by_function"].items()}
            ranked = sorted(added.items(), key=lambda kv: -kv[1])[:15]
            lines += ["", f"Calls `{c['loop']}` adds to the hand-written loop's, per iteration, by function:", ""]
            lines += [f"    {n:+7.2f}  {_short(where)}" for where, n in ranked]
    return lines
