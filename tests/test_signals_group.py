"""SIGTERM to a whole process group, as torchrun, Slurm and systemd send it: real `runnerkit run` processes
started in a session of their own, signalled with `os.killpg`.

With DataLoader worker processes, with a second SIGTERM on the heels of the first, and before training
starts: the run exits 143 every time, saving its iteration in flight when there is one, and leaves no
process behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

from tests.cli_helpers import SCRIPT
from tests.test_signals_cli import CONFIG, TORCHRUN, _env

pytestmark = pytest.mark.slow


@contextmanager
def group(cmd: list[str], cwd: Path, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``cmd`` as the leader of a new process group, output into ``log``; the group is killed on the way out."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):  # whatever is left of the group: leader, ranks, workers
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def wait_for(check: object, proc: subprocess.Popen[bytes], log: Path, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert proc.poll() is None, f"exited {proc.returncode} before {what}:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"never {what}:\n{log.read_text()[-3000:]}"
        time.sleep(0.02)


def group_gone(pgid: int, timeout: float = 10) -> bool:
    """Whether every process of the group has exited (worker processes included) within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def job(tmp_path: Path, workers: int, max_iters: int = 400) -> None:
    config = CONFIG.format(max_iters=max_iters).replace("workers_per_gpu=0", f"workers_per_gpu={workers}")
    (tmp_path / "job.py").write_text(config)


@pytest.mark.parametrize("workers", [2, 0])
def test_sigterm_to_the_group_then_another_saves_and_exits_143(tmp_path: Path, workers: int) -> None:
    job(tmp_path, workers)
    marks, log = tmp_path / "marks", tmp_path / "out.log"
    marks.mkdir()
    cmd = [str(SCRIPT), "run", "job.py", "--work-dir", "w"]
    with group(cmd, tmp_path, _env(marks), log) as proc:
        wait_for((marks / "rank0.pid").exists, proc, log, "reached the marked step")
        os.killpg(proc.pid, signal.SIGTERM)  # the main process and its DataLoader workers
        # the second SIGTERM as the first one's checkpoint is written: the process is on its way out
        wait_for(lambda: "checkpoint saved" in log.read_text(), proc, log, "saved")
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        text = log.read_text()
        assert proc.returncode == 143, text[-3000:]
        assert group_gone(proc.pid), "a worker process outlived the run"
    assert "killed by signal" not in text
    assert "Training stopped by SIGTERM after iteration" in text
    saved = (tmp_path / "w" / "last_checkpoint").read_text().strip()
    iteration = torch.load(tmp_path / "w" / saved, weights_only=True)["meta"]["iter"]
    assert saved == f"iter_{iteration}.pth" and 4 <= iteration < 400


def test_sigterm_while_the_job_is_being_built_exits_143_with_nothing_to_save(tmp_path: Path) -> None:
    job(tmp_path, workers=0)
    log, mark = tmp_path / "out.log", tmp_path / "building"
    env = dict(_env(), BUILD_MARK=str(mark))
    with group([str(SCRIPT), "run", "job.py", "--work-dir", "w"], tmp_path, env, log) as proc:
        wait_for(mark.exists, proc, log, "started building the model")
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        text = log.read_text()
        assert proc.returncode == 143, text[-3000:]
    assert "Stopped by SIGTERM while no training iteration was running" in text and "Traceback" not in text
    assert not list((tmp_path / "w").glob("*.pth"))


@pytest.mark.dist
def test_sigterm_to_a_torchrun_group_with_workers_saves_every_ranks_state(tmp_path: Path) -> None:
    job(tmp_path, workers=1, max_iters=200)
    marks, log = tmp_path / "marks", tmp_path / "out.log"
    marks.mkdir()
    cmd = [*TORCHRUN, "-m", "runnerkit", "run", "job.py", "--work-dir", "w"]
    with group(cmd, tmp_path, _env(marks), log) as proc:
        wait_for(lambda: (marks / "rank0.pid").exists() and (marks / "rank1.pid").exists(), proc, log, "trained")
        os.killpg(proc.pid, signal.SIGTERM)  # torchrun, both ranks and their workers; torchrun forwards it again
        proc.wait(timeout=90)
        text = log.read_text()
        assert group_gone(proc.pid), "a process outlived the run"
    assert "killed by signal" not in text, text[-3000:]
    assert text.count("Stopped by SIGTERM after iteration") == 2, text[-3000:]  # both ranks, at the same iteration
    saved = (tmp_path / "w" / "last_checkpoint").read_text().strip()
    checkpoint = torch.load(tmp_path / "w" / saved, weights_only=True)
    assert len(checkpoint["runnerkit"]["ranks"]) == 2, text[-3000:]

