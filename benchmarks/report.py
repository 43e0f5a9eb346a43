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
    """Median µs/iter, added µs and ratio (medians of same-round pairs with raw), weights, memory."""
    raw = runs["raw"]
    base = statistics.median(r["us_per_iter"] for r in raw)
    head = "| loop | µs/iter | added µs/iter | ratio to raw | runs | final weights vs raw | Python blocks kept/iter |"
    rule = "|---|---:|---:|---:|---:|---|---:|"
    if cuda:
        head += " peak MiB added |"
        rule += "---:|"
    lines = [f"{len(raw)} interleaved rounds, fresh process per run; medians of same-round differences and ratios.", "",
             head, rule]
    for loop_runs in runs.values():
        pairs = list(zip(raw, loop_runs))
        us = statistics.median(r["us_per_iter"] for r in loop_runs)
        added = statistics.median(b["us_per_iter"] - a["us_per_iter"] for a, b in pairs)
        ratio = statistics.median(b["us_per_iter"] / a["us_per_iter"] for a, b in pairs)
        blocks = statistics.median(r.get("blocks_per_iter", float("nan")) for r in loop_runs)
        row = (f"| {_title(loop_runs[0])} | {us:.1f} | {added:+.1f} | {ratio:.2f} | {len(loop_runs)} "
               f"| {_weights(loop_runs[0], raw[0])} | {blocks:.2f} |")
        if cuda:
            row += f" {statistics.median(r['peak_mib'] for r in loop_runs):.2f} |"
        lines.append(row)
    lines.append("")
    lines.append(f"Hand-written loop: {base:.1f} µs/iter (median).")
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
