"""benchmarks/bench_loop.py runs end to end on CPU (tiny iteration counts), as CI can run it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from tests import processes

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"


@pytest.fixture
def bench_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Import the benchmark's modules as its scripts do (their folder first on ``sys.path``)."""
    monkeypatch.syspath_prepend(str(BENCH))
    yield
    ours = ("workload", "report", "machine", "loop_worker", "bench_loop", "peers", "bench_paired", "instructions")
    for name in [m for m in sys.modules if m.split(".")[0] in ours]:
        del sys.modules[name]


def _bench(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """``bench_loop.py ARGS``; its worker processes (and valgrind) are killed with it on every path."""
    return processes.run([sys.executable, BENCH / "bench_loop.py", *args], timeout=timeout)


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
    assert "page faults/iter" in text and float(rk[-1].strip(" |")) >= 0  # minor faults in the timed window
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


def test_the_baton_makes_two_threads_take_turns(bench_path: None) -> None:
    import threading

    from bench_paired import Baton

    baton, order = Baton(), []

    def work(me: int) -> None:
        baton.wait_turn(me)
        for step in range(3):
            order.append((me, step))
            baton.hand_off(me)
        baton.finish(me)

    threads = [threading.Thread(target=work, args=(me,)) for me in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert order == [(0, 0), (1, 0), (0, 1), (1, 1), (0, 2), (1, 2)]


@pytest.mark.bench  # half a minute on an idle 2-core machine, a minute or more on a busy one
@pytest.mark.slow
def test_bench_paired_alternates_raw_and_runnerkit_in_one_process_and_writes_the_table(tmp_path: Path) -> None:
    out = tmp_path / "paired.md"
    proc = processes.run([sys.executable, BENCH / "bench_paired.py", "--loops", "raw", "runnerkit", "--rounds", "2",
                          "--iters", "260", "--out", out], timeout=240)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split(" | ") for line in out.read_text().splitlines() if line.startswith("| ") and "---" not in line]
    control, runner = rows[1], rows[2]
    assert control[0].endswith("(control: the same loop twice)") and runner[0].startswith("| runnerkit IterBasedRunner")
    assert control[-2] == runner[-2] == "6"  # 2 rounds of 3 turns of 50 iterations (from batch 100 to 250)
    assert runner[-1].strip(" |") == "equal"  # each thread trained its own copy: the same weights at the end
    assert float(runner[1]) > 0 and 0.5 < float(runner[4].strip("*")) < 2


@pytest.mark.bench  # minutes under valgrind on a busy 2-core machine: `python -m pytest --run-bench -m bench`
@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.skipif(not __import__("shutil").which("valgrind"), reason="needs valgrind")
def test_bench_loop_counts_instructions_per_iteration_under_callgrind(tmp_path: Path) -> None:
    out = tmp_path / "instructions.md"
    proc = _bench("--instructions", "--iters", "90", "--loops", "raw", "runnerkit", "--out", str(out), timeout=840)
    assert proc.returncode == 0, proc.stderr
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ") for line in out.read_text().splitlines()
            if line.startswith("| ") and "---" not in line}
    raw = rows["hand-written loop"]
    runner = rows[next(k for k in rows if k.startswith("runnerkit IterBasedRunner, standard hooks"))]
    assert float(raw[1].replace(",", "")) > 100_000  # an iteration of forward, backward and step
    assert float(raw[2].strip(" |")) == 1.0
    assert 1.0 < float(runner[2].strip(" |")) < 1.5  # the runner does what the raw loop does, and a little more


def test_the_instruction_table_gives_ratios_to_the_raw_loop(bench_path: None) -> None:
    from instructions import table

    counts = {"raw": {"title": "hand-written loop", "version": "", "per_iter": {"Ir": 1000.0, "I1mr": 200.0, "DLmr": 3.0}},
              "runnerkit": {"title": "runnerkit", "version": "0.1.0", "per_iter": {"Ir": 1040.0, "I1mr": 240.0, "DLmr": 2.0}}}
    assert table(counts) == [
        "| loop | instructions/iter | ratio | L1 instruction misses/iter | ratio | LL data read misses/iter | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
        "| hand-written loop | 1,000 | 1.000 | 200 | 1.000 | 3 | - |",
        "| runnerkit 0.1.0 | 1,040 | 1.040 | 240 | 1.200 | 2 | - |",  # a few misses: no ratio
    ]


def test_events_per_iteration_difference_two_runs_and_estimate_cycles_as_kcachegrind(bench_path: None) -> None:
    from instructions import per_iteration

    assert per_iteration({"Ir": 500}, {"Ir": 2500}, 100) == {"Ir": 20.0}  # no cache simulation: no estimate
    short = {"Ir": 1000, "I1mr": 0, "D1mr": 0, "D1mw": 0, "ILmr": 0, "DLmr": 0, "DLmw": 0, "Bcm": 0, "Bim": 0}
    long = {"Ir": 2000, "I1mr": 10, "D1mr": 20, "D1mw": 0, "ILmr": 1, "DLmr": 2, "DLmw": 0, "Bcm": 30, "Bim": 0}
    per_iter = per_iteration(short, long, 10)
    assert per_iter["Ir"] == 100.0
    assert per_iter["CEst"] == pytest.approx(100 + 10 * (1 + 2 + 3) + 100 * (0.1 + 0.2))  # CEst = Ir + 10 (L1 misses + mispredictions) + 100 LL misses
