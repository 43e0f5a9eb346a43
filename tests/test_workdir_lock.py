"""One work dir, one run: real processes starting in one work dir at once; the lock goes with the process."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runnerkit import WorkDirLockedError
from runnerkit.job import build_job
from runnerkit.workdir import LOCK_FILE, lock_work_dir
from tests.cli_helpers import SCRIPT
from tests.test_signals_cli import CONFIG, _env
from tests.test_signals_group import group, group_gone
from tests.test_workdir import config

HOLD = "import sys; from runnerkit.workdir import lock_work_dir; lock_work_dir(sys.argv[1]); print('held', flush=True); sys.stdin.read()"


def test_a_job_in_a_work_dir_another_process_holds_is_refused_naming_it_and_runs_once_it_is_gone(work_dir: Path) -> None:
    work_dir.mkdir()
    (work_dir / ".tmp-save-in-progress").write_bytes(b"x")  # the other run's save, mid-write
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(work_dir)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(WorkDirLockedError, match=(
            rf"The work dir `{re.escape(str(work_dir))}` is in use by a running run \(process {holder.pid} on "
            rf"{re.escape(socket.gethostname())}, started .*: `-c {re.escape(str(work_dir))}`\)\. Nothing was done here"
        )):
            build_job(config(), work_dir=work_dir)
        assert (work_dir / ".tmp-save-in-progress").exists()  # refused before cleaning anything
    finally:
        holder.kill()
        holder.wait(timeout=30)
    job = build_job(config(), work_dir=work_dir)  # the OS released the lock with the process
    assert not (work_dir / ".tmp-save-in-progress").exists()
    job.run()
    assert job.runner.iter == 6
    lock_work_dir(work_dir).release()  # run released it: this process takes it again


def test_the_lock_is_reentrant_in_one_process_and_released_with_the_last_hold(tmp_path: Path) -> None:
    first, second = lock_work_dir(tmp_path), lock_work_dir(tmp_path)
    probe = [sys.executable, "-c", HOLD, str(tmp_path)]
    first.release()
    refused = subprocess.run(probe, input="", capture_output=True, text=True, timeout=60)
    assert "WorkDirLockedError" in refused.stderr and str(os.getpid()) in refused.stderr
    second.release()
    second.release()  # a hold is given back once
    taken = subprocess.run(probe, input="", capture_output=True, text=True, timeout=60)
    assert taken.returncode == 0 and taken.stdout.strip() == "held"
    assert (tmp_path / LOCK_FILE).is_file()


@pytest.mark.slow
def test_two_runs_started_together_in_one_work_dir_one_trains_the_other_is_refused_untouched(tmp_path: Path) -> None:
    (tmp_path / "job.py").write_text(CONFIG.format(max_iters=400))
    work_dir = tmp_path / "w"
    work_dir.mkdir()
    marks = tmp_path / "marks"
    marks.mkdir()
    cmd = [str(SCRIPT), "run", "job.py", "--work-dir", "w"]
    with group(cmd, tmp_path, _env(marks), tmp_path / "a.log") as a, \
            group(cmd, tmp_path, _env(marks), tmp_path / "b.log") as b:
        deadline = time.monotonic() + 120
        while not (marks / "rank0.pid").exists():  # one of them trains
            assert time.monotonic() < deadline, (tmp_path / "a.log").read_text() + (tmp_path / "b.log").read_text()
            time.sleep(0.02)
        trainer = int((marks / "rank0.pid").read_text())
        runs = {a.pid: (a, tmp_path / "a.log"), b.pid: (b, tmp_path / "b.log")}
        winner, _ = runs.pop(trainer)
        (loser, loser_log), = runs.values()
        (work_dir / ".tmp-save-in-progress").write_bytes(b"x")
        logs_before = sorted(p.name for p in work_dir.glob("*.log"))
        assert loser.wait(timeout=120) == 1
        text = loser_log.read_text()
        assert f"is in use by a running run (process {winner.pid} on {socket.gethostname()}" in text, text[-3000:]
        assert "run job.py --work-dir w`" in text and "Traceback" not in text
        assert winner.poll() is None  # still training, undisturbed
        assert (work_dir / ".tmp-save-in-progress").exists()
        assert sorted(p.name for p in work_dir.glob("*.log")) == logs_before
        os.killpg(winner.pid, signal.SIGKILL)  # dies holding the lock
        winner.wait(timeout=30)
        assert group_gone(winner.pid)
    again = subprocess.run([*cmd, "--resume", "auto", "--cfg-options", "runner.max_iters=5"], cwd=tmp_path,
                           env=_env(), capture_output=True, text=True, timeout=180)
    assert again.returncode == 0, again.stderr[-3000:]  # the OS released the dead run's lock
    assert not (work_dir / ".tmp-save-in-progress").exists() and (work_dir / "iter_5.pth").is_file()


def test_a_forked_child_does_not_keep_the_work_dir_locked_after_its_parent_is_gone(tmp_path: Path) -> None:
    hold = lock_work_dir(tmp_path)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child: outlives the parent's hold for a while, as an orphaned worker does
        time.sleep(30)
        os._exit(0)
    try:
        hold.release()  # the parent is done (a dead parent releases the same way)
        probe = subprocess.run([sys.executable, "-c", HOLD, str(tmp_path)], input="", capture_output=True, text=True,
                               timeout=60)
        assert probe.returncode == 0 and probe.stdout.strip() == "held", probe.stderr[-2000:]
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def test_a_runner_built_in_python_is_refused_by_run_before_its_hooks_touch_the_work_dir(work_dir: Path) -> None:
    import torch

    import runnerkit
    from tests.test_signals import Noisy, _loader

    work_dir.mkdir()
    (work_dir / ".tmp-save-in-progress").write_bytes(b"x")  # the running run's save, mid-write
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(work_dir)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        model = Noisy()
        runner = runnerkit.IterBasedRunner(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                                           work_dir=work_dir, max_iters=4)
        runner.register_training_hooks(lr_config=None, checkpoint_config=dict(interval=2))
        with pytest.raises(WorkDirLockedError, match=rf"in use by a running run \(process {holder.pid} on "):
            runner.run([_loader()], [("train", 1)])
        assert runner.iter == 0 and (work_dir / ".tmp-save-in-progress").exists()  # CheckpointHook cleaned nothing
    finally:
        holder.kill()
        holder.wait(timeout=30)
    runner.run([_loader()], [("train", 1)])
    assert runner.iter == 4 and not (work_dir / ".tmp-save-in-progress").exists()


@pytest.mark.dist
@pytest.mark.slow
def test_a_second_torchrun_job_in_a_running_jobs_work_dir_is_refused_on_every_rank(tmp_path: Path) -> None:
    from tests.test_signals_cli import TORCHRUN

    (tmp_path / "job.py").write_text(CONFIG.format(max_iters=400))
    marks = tmp_path / "marks"
    marks.mkdir()
    cmd = [*TORCHRUN, "-m", "runnerkit", "run", "job.py", "--work-dir", "w"]
    with group(cmd, tmp_path, _env(marks), tmp_path / "a.log") as first:
        deadline = time.monotonic() + 120
        while not (marks / "rank0.pid").exists():
            assert first.poll() is None and time.monotonic() < deadline, (tmp_path / "a.log").read_text()[-3000:]
            time.sleep(0.05)
        rank0 = int((marks / "rank0.pid").read_text())  # rank 0 holds the lock; rank 1 holds none
        second = subprocess.run([*cmd, "--resume", "auto"], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                                timeout=180)
        assert second.returncode != 0
        assert f"is in use by a running run (process {rank0} on {socket.gethostname()}" in second.stdout + second.stderr, \
            (second.stdout + second.stderr)[-3000:]
        assert first.poll() is None  # undisturbed
