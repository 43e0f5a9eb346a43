"""A run stopped after a checkpoint and resumed in a fresh process ends bit-identical."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

JOB = Path(__file__).parent / "scripts" / "resume_job.py"


def _job(*args: object) -> None:
    proc = subprocess.run([sys.executable, str(JOB), *map(str, args)], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]


def _equal(a: Path, b: Path) -> bool:
    sa, sb = torch.load(a, weights_only=True), torch.load(b, weights_only=True)
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("runner", "stop_at", "ckpt", "extra"),
    [
        # iteration 14 of 40: the loader (11 batches/epoch) is cut mid-epoch, mid workflow phase
        ("IterBasedRunner", 15, "iter_14.pth", ["--lr"]),
        # an iteration checkpoint in the middle of epoch 2 of an epoch-based run
        ("EpochBasedRunner", 14, "iter_12.pth", []),
    ],
)
def test_resumed_run_ends_with_bit_identical_weights(tmp_path: Path, runner: str, stop_at: int, ckpt: str, extra: list[str]) -> None:
    _job(runner, tmp_path / "full", tmp_path / "full.pth", *extra)
    _job(runner, tmp_path / "cut", tmp_path / "cut.pth", "--stop-at", stop_at, *extra)
    assert (tmp_path / "cut" / ckpt).exists()
    assert not _equal(tmp_path / "full.pth", tmp_path / "cut.pth")
    _job(runner, tmp_path / "cut", tmp_path / "resumed.pth", "--resume", tmp_path / "cut" / ckpt, *extra)
    assert _equal(tmp_path / "full.pth", tmp_path / "resumed.pth")


@pytest.mark.slow
def test_resume_is_exact_with_worker_processes(tmp_path: Path) -> None:
    _job("IterBasedRunner", tmp_path / "full", tmp_path / "full.pth", "--workers", 2)
    _job("IterBasedRunner", tmp_path / "cut", tmp_path / "cut.pth", "--stop-at", 8, "--workers", 2)
    _job("IterBasedRunner", tmp_path / "cut", tmp_path / "resumed.pth", "--resume", tmp_path / "cut" / "iter_7.pth", "--workers", 2)
    assert _equal(tmp_path / "full.pth", tmp_path / "resumed.pth")
