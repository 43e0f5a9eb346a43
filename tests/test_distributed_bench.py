"""benchmarks/bench_ddp.py runs end to end (a tiny 2-rank torchrun job, gloo, CPU) and writes its table."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests import processes

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.slow  # a benchmark check, not one of the distributed behaviour tests (`-m dist`)
@pytest.mark.timeout(150)
def test_bench_ddp_times_both_ddp_loops_counts_their_calls_and_checks_they_end_with_the_same_weights(tmp_path: Path) -> None:
    out = tmp_path / "ddp.md"
    proc = processes.run([sys.executable, BENCH / "bench_ddp.py", "--iters", "150", "--rounds", "1", "--out", out],
                         timeout=140)
    assert proc.returncode == 0, proc.stderr[-4000:]
    text = out.read_text()
    assert text.startswith("Machine: ") and "2 ranks (gloo)" in text
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ") for line in text.splitlines() if line.startswith("| ")}
    raw, rk = rows["hand-written DDP loop"], rows["runnerkit IterBasedRunner + launch, standard hooks"]
    assert float(raw[1]) > 0 and float(rk[1]) > 0
    assert rk[-1].strip(" |") == "equal"  # the same work: bit-identical final weights on rank 0
    assert float(rk[5]) > float(raw[5]) > 100  # Python calls per iteration, counted
    assert "runnerkit/runners/base.py" in text  # the calls runnerkit adds, by function
