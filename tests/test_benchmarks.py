"""benchmarks/bench_loop.py runs end to end on CPU (tiny iteration counts), as CI can run it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"


@pytest.fixture
def bench_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Import the benchmark's modules as its scripts do (their folder first on ``sys.path``)."""
    monkeypatch.syspath_prepend(str(BENCH))
    yield
    ours = ("workload", "report", "machine", "loop_worker", "bench_loop", "peers")
    for name in [m for m in sys.modules if m.split(".")[0] in ours]:
        del sys.modules[name]


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(BENCH / "bench_loop.py"), *args], capture_output=True, text=True,
                          timeout=240)


@pytest.mark.slow
def test_bench_loop_times_raw_and_runnerkit_on_cpu_and_writes_the_table(tmp_path: Path) -> None:
    out = tmp_path / "loop.md"
    proc = _bench("--device", "cpu", "--iters", "60", "--rounds", "1", "--loops", "raw", "runnerkit", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert text.startswith("Machine: ") and "torch 2." in text
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ") for line in text.splitlines() if line.startswith("| ")}
    raw, rk = rows["hand-written loop"], rows[next(k for k in rows if k.startswith("runnerkit IterBasedRunner, standard"))]
    assert float(raw[1]) > 0 and float(rk[1]) > 0
    assert "equal" in [cell.strip() for cell in rk]  # same work: the runner ends with the raw loop's weights
    assert "peak MiB" not in text  # a CUDA-only column


@pytest.mark.cuda
@pytest.mark.slow
def test_bench_loop_on_cuda_times_with_events_and_adds_the_cuda_graph_limit_row(tmp_path: Path) -> None:
    out = tmp_path / "loop-gpu.md"
    proc = _bench("--device", "cuda", "--iters", "300", "--rounds", "1", "--loops", "raw", "raw-graph", "runnerkit",
                  "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "GPU " in text.splitlines()[0] and "peak MiB added" in text
    rows = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines() if line.startswith("| ")}
    graph = rows[next(k for k in rows if k.startswith("hand-written step, CUDA graph"))]
    assert "max diff" in graph or "equal" in graph  # fused SGD rounds differently: close, not always equal
    if "max diff" in graph:
        assert float(graph.split("max diff ")[1].split(" ")[0]) < 1e-4


def test_profile_counts_python_calls_and_tensor_allocations_per_iteration(bench_path: None, tmp_path: Path) -> None:
    import json

    import loop_worker

    counts = {}
    for loop in ("raw", "runnerkit-opt"):
        result = tmp_path / f"{loop}.json"
        assert loop_worker.main([loop, "--profile", "--iters", "60", "--result", str(result)]) == 0
        counts[loop] = json.loads(result.read_text())
    raw, rk = counts["raw"], counts["runnerkit-opt"]
    assert raw["iterations"] == rk["iterations"] == 57  # from the fetch of batch 2 to that of batch 59
    assert raw["calls_per_iter"] > 20 and raw["tensor_allocs_per_iter"] > 5  # forward, backward, step
    assert rk["calls_per_iter"] > raw["calls_per_iter"]  # the runner's dispatch is Python too
    runner_calls = {where: n for where, n in rk["calls_by_function"].items() if "runnerkit" in where}
    assert runner_calls and all(n > 0 for n in runner_calls.values())  # the runner's own functions, per iteration


def test_bench_loop_refuses_cuda_where_there_is_none(bench_path: None, capsys: pytest.CaptureFixture[str]) -> None:
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    import bench_loop

    assert bench_loop.main(["--device", "cuda", "--rounds", "1"]) == 2
    assert "sees no CUDA device" in capsys.readouterr().err


def test_a_loop_whose_framework_is_missing_says_why(bench_path: None) -> None:
    from peers import Loop, find

    assert Loop("x", "raw", dist="no-such-distribution-here").missing("cpu") == "`no-such-distribution-here` is not installed"
    assert find("raw-graph").missing("cpu") == "needs a CUDA device"
    assert find("raw").missing("cpu") is None
    with pytest.raises(SystemExit, match="Unknown loop `rawz`; expected one of raw, raw-graph"):
        find("rawz")


def test_the_clock_times_the_window_between_two_fetches(bench_path: None) -> None:
    from workload import Clock, Workload

    seen: list[bool] = []
    clock = Clock("cpu", start=2, stop=7, probes=[seen.append])
    data = Workload(iters=10).make_data(clock)
    assert len(data) == 10 and len(list(data)) == 10
    assert seen == [True, False]  # probes run at both marks, outside the timed window
    assert clock.iterations == 5 and clock.seconds() >= 0
    with pytest.raises(RuntimeError, match=r"Expected two marks \(the fetches of batches 2 and 7\), got 4"):
        list(data)  # a second pass marks again: the window is no longer one pass's
        clock.seconds()
