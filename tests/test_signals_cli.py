"""`runnerkit run` stopped by a real SIGTERM (one process, and one rank of a 2-rank torchrun job) prints the
command that resumes it; that command ends bit-identical to a run never stopped."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.cli_helpers import SCRIPT, main, runnerkit

SCRIPTS = Path(__file__).parent / "scripts"
CONFIG = """\
model = dict(type="signal_job:SlowNet")
data = dict(samples_per_gpu=8, workers_per_gpu=0, train=dict(type="DemoDataset", num_samples=96, seed=0))
optimizer = dict(type="SGD", lr=0.1, momentum=0.9)
optimizer_config = dict(grad_clip=None)
lr_config = dict(policy="step", step=[12])
checkpoint_config = dict(interval=1000)
log_config = dict(interval=5, hooks=[dict(type="TextLoggerHook")])
runner = dict(type="IterBasedRunner", max_iters={max_iters})
seed = 0
num_threads = 1
"""
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2"]


def _env(mark_dir: Path | None = None) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SCRIPTS), str(Path(__file__).parent.parent)]))
    env.pop("RUNNERKIT_DEBUG", None)
    if mark_dir is not None:
        env["MARK_DIR"] = str(mark_dir)
    return env


def _weights(path: Path) -> dict[str, torch.Tensor]:
    state: dict[str, torch.Tensor] = torch.load(path, weights_only=True)["state_dict"]
    return state


def _signal_when_marked(cmd: list[str], cwd: Path, mark_dir: Path, rank: int) -> subprocess.CompletedProcess[str]:
    mark_dir.mkdir()
    proc = subprocess.Popen(cmd, cwd=cwd, env=_env(mark_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    marker = mark_dir / f"rank{rank}.pid"
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "training never reached the marked step"
        time.sleep(0.05)
    os.kill(int(marker.read_text()), signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _resume_line(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    return shlex.split(lines[lines.index("Resume with:") + 1])


@pytest.mark.slow
def test_sigterm_under_runnerkit_run_prints_the_command_that_resumes_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "job.py").write_text(CONFIG.format(max_iters=24))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(SCRIPTS))
    assert main(capsys, "run", "job.py", "--work-dir", "full")[0] == 0  # the reference, in this process
    cut = _signal_when_marked([str(SCRIPT), "run", "job.py", "--work-dir", "cut"], tmp_path, tmp_path / "marks", 0)
    assert cut.returncode == 143, cut.stderr[-3000:]
    assert "SIGTERM received: saving a checkpoint at iteration" in cut.stdout + cut.stderr
    command = _resume_line(cut.stdout)
    checkpoint = command[-1]
    assert command[:5] == ["runnerkit", "run", "job.py", "--work-dir", "cut"] and command[-2] == "--resume"
    assert Path(tmp_path, checkpoint).is_file() and 4 <= int(Path(checkpoint).stem[5:]) < 24
    resumed = runnerkit(*command[1:], cwd=tmp_path, env=_env(), path=[SCRIPTS])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    a, b = _weights(tmp_path / "full" / "iter_24.pth"), _weights(tmp_path / "cut" / "iter_24.pth")
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.dist
@pytest.mark.slow
def test_sigterm_to_one_rank_of_a_torchrun_job_stops_every_rank_at_the_same_iteration(tmp_path: Path) -> None:
    (tmp_path / "job.py").write_text(CONFIG.format(max_iters=16))
    run = [*TORCHRUN, "-m", "runnerkit", "run", "job.py"]
    full = subprocess.run([*run, "--work-dir", "full"], cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300)
    assert full.returncode == 0, full.stderr[-3000:]
    cut = _signal_when_marked([*run, "--work-dir", "cut"], tmp_path, tmp_path / "marks", rank=1)
    assert cut.returncode != 0 and "exitcode  : 143" in cut.stderr, cut.stderr[-3000:]
    command = _resume_line(cut.stdout)
    assert command[:4] == ["torchrun", "--standalone", "--nproc-per-node=2", "-m"]
    checkpoint = tmp_path / command[-1]
    saved = torch.load(checkpoint, weights_only=True)
    assert len(saved["runnerkit"]["ranks"]) == 2  # both ranks stopped at this iteration and gave their states
    resumed = subprocess.run([*TORCHRUN, *command[3:]], cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    a, b = _weights(tmp_path / "full" / "iter_16.pth"), _weights(tmp_path / "cut" / "iter_16.pth")
    assert all(torch.equal(a[k], b[k]) for k in a)
