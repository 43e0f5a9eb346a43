"""Miniatures of mmdet 2.x's and mmseg 0.x's training scripts train unchanged under ``install()``, and log
what real mmcv 1.7.2 logs for the same seed (issue 22, "Done when").

The scripts (``miniatures/``) import only ``mmcv`` and torch; ``run_miniature.py --runnerkit`` installs
the layer first, nothing else is stood in (no ``mmcv.cnn`` is used). ``data/miniatures.json`` holds the
JSON-log lines real mmcv 1.7.2 wrote for the same legs (``miniatures/legs.py``, run once in
/work/mmcv-venv); every logged number (losses, accuracies, grad norms, learning rates, evaluation
scores) must equal it to 4 decimals, and every key, epoch and iteration exactly.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from tests import processes

HERE = Path(__file__).parent / "miniatures"
sys.path.insert(0, str(HERE))

from legs import LEGS, run_leg  # noqa: E402
from run_miniature import logged  # noqa: E402

REFERENCE: dict[str, list[dict[str, Any]]] = json.loads((Path(__file__).parent / "data" / "miniatures.json").read_text())
RUNNERKIT = [sys.executable, str(HERE / "run_miniature.py"), "--runnerkit"]


def same_log(ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> None:
    assert [sorted(line) for line in ours] == [sorted(line) for line in theirs]
    for mine, ref in zip(ours, theirs):
        for key, value in ref.items():
            if isinstance(value, float):
                assert mine[key] == pytest.approx(value, abs=1e-4), (key, mine, ref)
            else:
                assert mine[key] == value, (key, mine, ref)


def test_the_reference_covers_every_leg() -> None:
    assert set(REFERENCE) == set(LEGS)
    assert all(any(line["mode"] == "train" for line in lines) for lines in REFERENCE.values())


@pytest.mark.slow
def test_mmdet2_miniature_trains_resumes_and_loads_as_mmcv(tmp_path: Path) -> None:
    """EpochBasedRunner, paramwise_cfg, EvalHook subclass with save_best='auto', ExpMomentumEMAHook,
    NumClassCheckHook and CheckInvalidLossHook by priority, grad clipping, warm-up; resume_from and load_from
    of checkpoints holding the EMA hook's ema_* buffers."""
    for leg in ("mmdet2/train", "mmdet2/resume", "mmdet2/load_from"):
        same_log(run_leg(RUNNERKIT, leg, str(tmp_path)), REFERENCE[leg])
    files = {p.name for p in (tmp_path / "mmdet2" / "train").iterdir()}
    assert {"epoch_1.pth", "epoch_2.pth", "epoch_3.pth", "best_mAP_epoch_2.pth"} <= files
    ckpt = torch.load(tmp_path / "mmdet2" / "train" / "epoch_3.pth", weights_only=False)
    assert list(ckpt["meta"]["CLASSES"]) == ["cat", "dog", "bird"] and ckpt["meta"]["epoch"] == 3
    assert "ema_backbone_0_weight" in ckpt["state_dict"]  # mmdet's EMA hook's buffers, saved with the model
    log = next((tmp_path / "mmdet2" / "resume").glob("*.log")).read_text()
    assert "unexpected keys" in log and "ema_backbone_0_weight" in log  # warned, as mmcv's strict=False


@pytest.mark.slow
def test_mmdet2_miniature_trains_in_fp16(tmp_path: Path) -> None:
    """`fp16 = dict(loss_scale=512.)`: Fp16OptimizerHook with auto_fp16; on this CPU runnerkit autocasts to fp16
    (mmcv 1.7.2 cannot run fp16 without CUDA), so the losses equal the fp32 reference to fp16's precision."""
    ours = run_leg(RUNNERKIT, "mmdet2/fp16", str(tmp_path))
    theirs = [line for line in REFERENCE["mmdet2/train"] if line["epoch"] == 1]
    assert [(line["mode"], line["iter"]) for line in ours] == [(line["mode"], line["iter"]) for line in theirs]
    for mine, ref in zip(ours, theirs):
        if mine["mode"] == "train":
            assert mine["loss"] == pytest.approx(ref["loss"], abs=1e-3)
            assert mine["loss"] != ref["loss"] or mine["loss_cls"] != ref["loss_cls"]  # computed in fp16: not bit-equal
    ckpt = torch.load(tmp_path / "mmdet2" / "fp16" / "epoch_1.pth", weights_only=False)
    assert ckpt["runnerkit"]["hooks"]["Fp16OptimizerHook"]["scaler"]["scale"] == 512.0


@pytest.mark.slow
def test_mmseg0_miniature_trains_as_mmcv(tmp_path: Path) -> None:
    """IterBasedRunner, poly lr, EvalHook(by_epoch=False, pre_eval=True) clearing the log buffer, custom_keys."""
    same_log(run_leg(RUNNERKIT, "mmseg0/train", str(tmp_path)), REFERENCE["mmseg0/train"])
    assert {"iter_6.pth", "iter_12.pth"} <= {p.name for p in (tmp_path / "mmseg0" / "train").iterdir()}


@pytest.mark.slow
@pytest.mark.dist
def test_mmdet2_miniature_trains_and_resumes_in_two_processes(tmp_path: Path) -> None:
    """init_dist('pytorch'), MMDistributedDataParallel, DistSamplerSeedHook, DistEvalHook; then resume_from."""
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR",
                                                            "MASTER_PORT")}
    env.update(OMP_NUM_THREADS="1")
    base = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
            str(HERE / "run_miniature.py"), "--runnerkit", "mmdet2_train.py", "configs/toy_det.py", "--launcher", "pytorch"]
    first = processes.run([*base, "--work-dir", str(tmp_path / "a"), "--cfg-options", "runner.max_epochs=2"],
                          timeout=240, cwd=HERE, env=env)
    assert first.returncode == 0, first.stderr[-4000:]
    lines = logged(str(tmp_path / "a"))
    assert [(line["mode"], line["epoch"]) for line in lines] == [("train", 1), ("val", 1), ("train", 2), ("val", 2)]
    assert all(0.0 <= line["mAP"] <= 1.0 for line in lines if line["mode"] == "val")
    second = processes.run([*base, "--work-dir", str(tmp_path / "b"), "--resume-from", str(tmp_path / "a" / "epoch_1.pth"),
                            "--cfg-options", "runner.max_epochs=2"], timeout=240, cwd=HERE, env=env)
    assert second.returncode == 0, second.stderr[-4000:]
    resumed = logged(str(tmp_path / "b"))
    assert {line["epoch"] for line in resumed} == {2}
    assert (tmp_path / "b" / "epoch_2.pth").is_file()
