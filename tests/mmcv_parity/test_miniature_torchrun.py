"""Done when (issue 22): a 2-process torchrun job of the detection miniature (``init_dist('pytorch')``,
``MMDistributedDataParallel``, ``DistSamplerSeedHook``, ``DistEvalHook``) trains and resumes (``resume_from``).

gloo on CPU. The resumed run's epoch must log what the uninterrupted run logged for it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import torch

from tests import processes
from tests.mmcv_parity.miniatures.scenarios import CONFIGS, ROOT, SKIPPED_KEYS, env, read_run

CONFIG = CONFIGS / "det" / "mini_det_dist.py"
TORCHRUN_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
                 "TORCHELASTIC_RUN_ID", "GROUP_RANK", "ROLE_RANK")


def train(work_dir: Path, *args: str) -> str:
    """``torchrun --nproc_per_node 2`` the miniature's tools/train.py under the layer; its output."""
    child_env = {k: v for k, v in env().items() if k not in TORCHRUN_VARS}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "tests.mmcv_parity.miniatures", "runnerkit", "det", str(CONFIG),
           "--launcher", "pytorch", "--work-dir", str(work_dir), "--seed", "0", *args]
    proc = processes.run(cmd, timeout=240, cwd=ROOT, env=child_env)
    assert proc.returncode == 0, f"{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return proc.stdout + proc.stderr


def logged(path: Path) -> list[dict[str, object]]:
    """The records of one ``*.log.json``, less the timings."""
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in SKIPPED_KEYS} for r in lines if "mode" in r]


@pytest.mark.slow
@pytest.mark.dist
def test_the_detection_miniature_trains_and_resumes_under_torchrun(tmp_path: Path) -> None:
    work = tmp_path / "work"
    out = train(work)
    assert "Distributed training: True" in out
    first_logs = {p.name for p in work.glob("*.log.json")}
    assert len(first_logs) == 1
    full = read_run(work)["records"]
    # 24 images, 2 ranks, 4 per rank: 4 iterations per epoch on each rank; DistEvalHook: 8 images, 4 per rank
    assert [(r["mode"], r["epoch"], r["iter"]) for r in full] == [
        ("train", 1, 2), ("train", 1, 4), ("val", 1, 4), ("train", 2, 2), ("train", 2, 4), ("val", 2, 4)]
    assert {"epoch_1.pth", "epoch_2.pth"} <= {p.name for p in work.iterdir()}

    os.remove(work / "epoch_2.pth")
    out = train(work, "--resume-from", str(work / "epoch_1.pth"))
    assert "resumed epoch 1, iter 4" in out
    (second_log,) = {p.name for p in work.glob("*.log.json")} - first_logs
    resumed = logged(work / second_log)
    assert [(r["mode"], r["epoch"], r["iter"]) for r in resumed] == [("train", 2, 2), ("train", 2, 4), ("val", 2, 4)]
    for ours, uninterrupted in zip(resumed, full[3:]):
        for key, value in uninterrupted.items():
            assert ours[key] == pytest.approx(value, abs=1e-4), (key, ours, uninterrupted)
    meta = torch.load(work / "epoch_2.pth", map_location="cpu", weights_only=True)["meta"]
    assert meta["epoch"] == 2 and meta["iter"] == 8
    assert list(meta["CLASSES"]) == ["red", "green", "blue"]
