"""Done when: an mmdet-2.x-shaped training script trains unchanged after ``runnerkit.compat.mmcv.install()``."""

from __future__ import annotations

import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).parent / "scripts" / "train_mmdet2_style.py"
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # a subprocess: the script starts from a fresh interpreter, as a user's would
def test_an_mmdet2_training_script_trains_unchanged_after_install(tmp_path: Path) -> None:
    # A pretrained file saved from a DataParallel model: `module.` keys, as many mmdet-era checkpoints.
    pretrained = tmp_path / "pretrained.pth"
    weights = OrderedDict([("module.backbone.weight", torch.zeros(16, 8)), ("module.backbone.bias", torch.full((16,), 0.5))])
    torch.save({"state_dict": weights, "meta": {"mmcv_version": "1.7.2"}}, pretrained)
    work = tmp_path / "work"
    work.mkdir()
    code = (
        "import runnerkit.compat.mmcv, runpy, sys; runnerkit.compat.mmcv.install(); "
        f"sys.argv = [{str(SCRIPT)!r}, {str(work)!r}, {str(pretrained)!r}]; "
        f"runpy.run_path({str(SCRIPT)!r}, run_name='__main__')"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "DONE 3 18 0" in proc.stdout  # 3 epochs of 6 batches
    files = {p.name for p in work.iterdir()}
    assert {"epoch_1.pth", "epoch_2.pth", "epoch_3.pth", "final_by_save_checkpoint.pth"} <= files
    best = [name for name in files if name.startswith("best_mAP_epoch_")]
    assert len(best) == 1 and f"BEST {best[0]}" in proc.stdout
    assert (work / "hook_calls.txt").read_text() == "epoch 0\nepoch 1\nepoch 2\n"
    log = next(work.glob("*.log")).read_text()
    assert "evaluated 10 samples" in log and "mAP" in log
    ckpt = torch.load(work / "epoch_3.pth", weights_only=True)
    assert ckpt["meta"]["CLASSES"] == ("cat", "dog", "bird") or ckpt["meta"]["CLASSES"] == ["cat", "dog", "bird"]
    assert ckpt["meta"]["epoch"] == 3 and ckpt["meta"]["exp_name"] == "toy_det.py"
    final = torch.load(work / "final_by_save_checkpoint.pth", weights_only=True)
    assert set(final["state_dict"]) == {"backbone.weight", "backbone.bias", "head.weight", "head.bias"}
    assert list(final["meta"]["CLASSES"]) == ["cat", "dog", "bird"]
