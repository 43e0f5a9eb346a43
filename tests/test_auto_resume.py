"""`--resume auto` under `torchrun --max-restarts`: a job whose rank dies restarts, resumes by itself, and ends
bit-identical to one that never failed (2 ranks, gloo, CPU; real processes and a real SIGKILL)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.test_distributed import output, torchrun

JOB = """\
model = dict(type="DemoModel", hidden=8)
data = dict(train=dict(type="DemoDataset", num_samples=64), samples_per_gpu=4)
optimizer = dict(type="SGD", lr=0.05, momentum=0.9)
optimizer_config = dict()
runner = dict(type="IterBasedRunner", max_iters=12)
checkpoint_config = dict(interval=3)
log_config = dict(interval=3)
seed = 0
num_threads = 1
custom_hooks = {hooks!r}
dist_params = dict(backend="gloo", timeout=60)
"""


@pytest.mark.dist
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_job_whose_rank_dies_restarts_resumes_by_itself_and_ends_as_one_that_never_failed(tmp_path: Path) -> None:
    marker = tmp_path / "rank1-killed"
    (tmp_path / "ref.py").write_text(JOB.format(hooks=[]))
    (tmp_path / "job.py").write_text(JOB.format(hooks=[
        {"type": "dist_hooks:FailRankHook", "how": "kill", "rank": 1, "after_iter": 8, "marker": str(marker)},
    ]))
    ref, _ = torchrun("-m", "runnerkit", "run", "ref.py", "--work-dir", "ref", cwd=tmp_path)
    assert ref.returncode == 0, output(ref)

    proc, _ = torchrun("--max-restarts", "1", "-m", "runnerkit", "run", "job.py", "--work-dir", "w", "--resume", "auto",
                       cwd=tmp_path, timeout=240)
    assert proc.returncode == 0, output(proc)
    assert marker.exists(), "rank 1 should have killed itself once"
    assert "failed (exitcode: -9) local_rank: 1" in proc.stderr, output(proc)  # torchrun saw the SIGKILL
    # the first attempt started fresh (an empty work dir); the restart resumed from the last complete checkpoint
    assert "load checkpoint from w/iter_6.pth" in proc.stdout, output(proc)
    assert not list((tmp_path / "w").glob(".tmp-*"))

    got = torch.load(tmp_path / "w" / "iter_12.pth", weights_only=True)
    want = torch.load(tmp_path / "ref" / "iter_12.pth", weights_only=True)
    assert got["state_dict"].keys() == want["state_dict"].keys()
    for key, value in want["state_dict"].items():
        assert torch.equal(got["state_dict"][key], value), key
    for index, state in want["optimizer"]["state"].items():
        assert torch.equal(got["optimizer"]["state"][index]["momentum_buffer"], state["momentum_buffer"])


@pytest.mark.dist
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_job_killed_after_a_best_checkpoint_but_before_an_interval_one_restarts_fresh(tmp_path: Path) -> None:
    """Only `best_*.pth` on disk (and no interval checkpoint): `--resume auto` starts fresh instead of refusing."""
    marker = tmp_path / "rank1-killed"
    job = JOB.replace("checkpoint_config = dict(interval=3)", "checkpoint_config = dict(interval=100)")
    job += 'data["val"] = dict(type="DemoDataset", num_samples=32, seed=1)\nevaluation = dict(interval=2, save_best="acc")\n'
    (tmp_path / "job.py").write_text(job.format(hooks=[
        {"type": "dist_hooks:FailRankHook", "how": "kill", "rank": 1, "after_iter": 5, "marker": str(marker)},
    ]))
    proc, _ = torchrun("--max-restarts", "1", "-m", "runnerkit", "run", "job.py", "--work-dir", "w", "--resume", "auto",
                       cwd=tmp_path, timeout=240)
    assert proc.returncode == 0, output(proc)
    assert marker.exists() and "failed (exitcode: -9) local_rank: 1" in proc.stderr, output(proc)
    assert "nothing to resume from" in proc.stdout + proc.stderr, output(proc)  # the restart said why it starts fresh
    assert (tmp_path / "w" / "iter_12.pth").is_file() and list((tmp_path / "w").glob("best_acc_iter_*.pth"))


@pytest.mark.dist
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_job_with_a_checkpoint_out_dir_restarts_from_the_checkpoints_there(tmp_path: Path) -> None:
    """`checkpoint_config.out_dir`: a torchrun restart with `--resume auto` finds the checkpoints where they were written."""
    marker = tmp_path / "rank1-killed"
    out_dir = tmp_path / "w" / "ckpts"  # mmcv's rule: checkpoints go to out_dir/<work dir's name>
    job = JOB.replace("checkpoint_config = dict(interval=3)", f"checkpoint_config = dict(interval=3, out_dir={str(out_dir)!r})")
    (tmp_path / "job.py").write_text(job.format(hooks=[
        {"type": "dist_hooks:FailRankHook", "how": "kill", "rank": 1, "after_iter": 8, "marker": str(marker)},
    ]))
    proc, _ = torchrun("--max-restarts", "1", "-m", "runnerkit", "run", "job.py", "--work-dir", "w", "--resume", "auto",
                       cwd=tmp_path, timeout=240)
    assert proc.returncode == 0, output(proc)
    assert marker.exists(), output(proc)
    assert f"load checkpoint from {out_dir / 'w' / 'iter_6.pth'}" in proc.stdout, output(proc)
    assert (out_dir / "w" / "iter_12.pth").is_file() and not list((tmp_path / "w").glob("iter_*.pth"))
