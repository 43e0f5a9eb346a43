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
    for marker in ("site-packages/", "/benchmarks/", "/runnerkit/"):
        if marker in where:
            return where.split(marker, 1)[1] if marker == "site-packages/" else marker.strip("/") + "/" + where.split(marker, 1)[1]
    return where


def loop_table(runs: dict[str, list[dict[str, Any]]], cuda: bool) -> list[str]:
    """µs/iter, added µs and ratio (medians of same-round pairs with raw), the other clock, weights, memory.

    On a CPU the ranking clock is the process's CPU time (robust on a shared machine), the wall
    clock beside it; on a GPU it is the CUDA-event time, the host's CPU time beside it.
    """
    key, other = ("us_per_iter", "cpu_us_per_iter") if cuda else ("cpu_us_per_iter", "us_per_iter")
    names = ("GPU time (CUDA events)", "host CPU time") if cuda else ("CPU time", "wall time")
    raw = runs["raw"]
    head = (f"| loop | µs/iter, {names[0]} | added µs/iter | ratio to raw | µs/iter, {names[1]} | ratio to raw | runs "
            "| final weights vs raw | Python blocks kept/iter |")
    rule = "|---|---:|---:|---:|---:|---:|---:|---|---:|"
    if cuda:
        head += " peak MiB added |"
        rule += "---:|"
    lines = [f"Medians over {len(raw)} interleaved rounds (a fresh process per run); `added` and `ratio` are medians of "
             "the differences and ratios with the same round's hand-written loop.", "", head, rule]
    for loop_runs in runs.values():
        pairs = list(zip(raw, loop_runs))
        row = (f"| {_title(loop_runs[0])} | {statistics.median(r[key] for r in loop_runs):.1f} "
               f"| {statistics.median(b[key] - a[key] for a, b in pairs):+.1f} "
               f"| {statistics.median(b[key] / a[key] for a, b in pairs):.2f} "
               f"| {statistics.median(r[other] for r in loop_runs):.1f} "
               f"| {statistics.median(b[other] / a[other] for a, b in pairs):.2f} | {len(loop_runs)} "
               f"| {_weights(loop_runs[0], raw[0])} | {statistics.median(r['blocks_per_iter'] for r in loop_runs):.2f} |")
        if cuda:
            row += f" {statistics.median(r['peak_mib'] for r in loop_runs):.2f} |"
        lines.append(row)
    return lines


def calls_table(counts: dict[str, dict[str, Any]]) -> list[str]:
    """Python calls and tensor allocations per iteration, and what each loop adds to the raw one's."""
    raw = counts["raw"]
    lines = ["| loop | Python calls/iter | added to raw | tensor allocations/iter | added to raw |",
             "|---|---:|---:|---:|---:|"]
    for c in counts.values():
        lines.append(f"| {_title(c)} | {c['calls_per_iter']:.1f} | {c['calls_per_iter'] - raw['calls_per_iter']:+.1f} "
                     f"| {c['tensor_allocs_per_iter']:.1f} | {c['tensor_allocs_per_iter'] - raw['tensor_allocs_per_iter']:+.1f} |")
    for c in counts.values():
        if c["loop"].startswith("runnerkit"):
            lines += ["", f"Most called in `{c['loop']}` (calls per iteration):", ""]
            lines += [f"    {n:7.2f}  {_short(where)}" for where, n in c["top_calls"][:15]]
    return lines
