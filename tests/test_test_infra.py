"""The test suite's own machinery: processes end with their test, benchmarks stay out of the default run,
each xdist worker compiles into its own Inductor cache."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import processes

ROOT = Path(__file__).resolve().parents[1]

# a parent that starts a child sleeping for a minute, prints the child's pid, then waits for it
TREE = (
    "import subprocess, sys\n"
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], stdout=subprocess.DEVNULL)\n"
    "print(child.pid, flush=True)\n"
    "{tail}\n"
)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_gone(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_a_timed_out_process_takes_its_children_with_it(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    code = TREE.format(tail=f"open({str(pid_file)!r}, 'w').write(str(child.pid)); child.wait()")
    with pytest.raises(subprocess.TimeoutExpired):
        processes.run([sys.executable, "-c", code], timeout=5)
    assert wait_gone(int(pid_file.read_text()))  # subprocess.run would have left it to PID 1


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_a_process_that_exits_leaves_no_child_behind() -> None:
    proc = processes.run([sys.executable, "-c", TREE.format(tail="")], timeout=60)
    assert proc.returncode == 0
    assert wait_gone(int(proc.stdout.split()[0]))


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_a_failing_test_body_still_ends_the_processes_it_started() -> None:
    with pytest.raises(AssertionError), processes.started([sys.executable, "-c", TREE.format(tail="child.wait()")],
                                                          stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        pid = int(proc.stdout.readline())
        raise AssertionError("the test failed here")
    assert wait_gone(pid)


def test_each_test_process_compiles_into_its_own_inductor_cache() -> None:
    from torch._inductor.runtime.cache_dir_utils import cache_dir

    cache = Path(os.environ["TORCHINDUCTOR_CACHE_DIR"])
    assert Path(cache_dir()) == cache and cache.parent.name.startswith("runnerkit-tests-inductor-")
    lock = (cache.parent / f"{cache.name}.lock").open("w")
    with lock, pytest.raises(BlockingIOError):  # held by this process: no other test process gets this cache
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)


@pytest.mark.slow
def test_the_default_test_command_skips_the_benchmark_runs_and_says_how_to_run_them(tmp_path: Path) -> None:
    proc = processes.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
                          ROOT / "tests" / "test_benchmarks.py", "-k", "callgrind or paired"], timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "2 skipped" in proc.stdout
    assert proc.stdout.count("a benchmark run (minutes): `python -m pytest --run-bench -m bench`") == 2
