"""Configs in the shape real mmcv 1.x projects use train unchanged (numbers scaled down)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import torch

import runnerkit
from tests.helpers import TinyNet, make_loader

# mmdetection: configs/_base_/schedules/schedule_1x.py + default_runtime.py
MMDET_1X: dict[str, Any] = {
    "optimizer": {"type": "SGD", "lr": 0.02, "momentum": 0.9, "weight_decay": 0.0001},
    "optimizer_config": {"grad_clip": None},
    "lr_config": {"policy": "step", "warmup": "linear", "warmup_iters": 3, "warmup_ratio": 0.001, "step": [2, 3]},
    "runner": {"type": "EpochBasedRunner", "max_epochs": 4},
    "checkpoint_config": {"interval": 1},
    "log_config": {"interval": 2, "hooks": [{"type": "TextLoggerHook"}]},
    "custom_hooks": [{"type": "EMAHook", "momentum": 0.0002, "priority": 49}],
    "workflow": [("train", 1)],
}

# mmsegmentation: configs/_base_/schedules/schedule_80k.py
MMSEG_80K: dict[str, Any] = {
    "optimizer": {"type": "SGD", "lr": 0.01, "momentum": 0.9, "weight_decay": 0.0005},
    "optimizer_config": {},
    "lr_config": {"policy": "poly", "power": 0.9, "min_lr": 1e-4, "by_epoch": False},
    "runner": {"type": "IterBasedRunner", "max_iters": 12},
    "checkpoint_config": {"by_epoch": False, "interval": 6},
    "log_config": {"interval": 3, "hooks": [{"type": "TextLoggerHook", "by_epoch": False}]},
    "workflow": [("train", 1)],
}

# mmdetection3d: configs/_base_/schedules/cyclic_40e.py (AdamW, cyclic lr and momentum)
MMDET3D_CYCLIC: dict[str, Any] = {
    "optimizer": {"type": "AdamW", "lr": 0.0018, "betas": (0.95, 0.99), "weight_decay": 0.01},
    "optimizer_config": {"grad_clip": {"max_norm": 10, "norm_type": 2}},
    "lr_config": {"policy": "cyclic", "target_ratio": (10, 1e-4), "cyclic_times": 1, "step_ratio_up": 0.4},
    "momentum_config": {"policy": "cyclic", "target_ratio": (0.85 / 0.95, 1), "cyclic_times": 1, "step_ratio_up": 0.4},
    "runner": {"type": "EpochBasedRunner", "max_epochs": 3},
    "checkpoint_config": {"interval": 1, "max_keep_ckpts": 2},
    "log_config": {"interval": 2, "hooks": [{"type": "TextLoggerHook"}]},
    "workflow": [("train", 1), ("val", 1)],
}


def _train(cfg: dict[str, Any], work_dir: Path) -> Any:
    frozen = copy.deepcopy(cfg)
    model = TinyNet()
    opt_cfg = dict(cfg["optimizer"])
    opt = getattr(torch.optim, opt_cfg.pop("type"))(model.parameters(), **opt_cfg)
    runner = runnerkit.build_runner(cfg["runner"], default_args={"model": model, "optimizer": opt, "work_dir": str(work_dir), "meta": {"exp_name": "x"}})
    runner.register_training_hooks(
        cfg["lr_config"], cfg["optimizer_config"], cfg["checkpoint_config"], cfg["log_config"],
        cfg.get("momentum_config"), custom_hooks_config=cfg.get("custom_hooks"),
    )
    loaders = [make_loader(8, batch_size=2, shuffle=True) for _ in cfg["workflow"]]
    runner.run(loaders, cfg["workflow"])
    assert cfg == frozen, "the config was mutated"
    return runner


@pytest.mark.parametrize("cfg", [MMDET_1X, MMSEG_80K, MMDET3D_CYCLIC], ids=["mmdet-1x", "mmseg-80k", "mmdet3d-cyclic"])
def test_mmcv_project_configs_train(cfg: dict[str, Any], work_dir: Path) -> None:
    runner = _train(cfg, work_dir)
    iter_based = cfg["runner"]["type"] == "IterBasedRunner"
    if iter_based:
        assert runner.iter == cfg["runner"]["max_iters"]
        assert {p.name for p in work_dir.glob("*.pth")} >= {"iter_6.pth", "iter_12.pth"}
    else:
        assert runner.epoch == cfg["runner"]["max_epochs"]
    (log,) = work_dir.glob("*.log.json")
    records = [json.loads(line) for line in log.read_text().splitlines()]
    # the metadata line: the experiment (and, epoch-based, the epoch length `runnerkit plot` places points with)
    assert records[0] == ({"exp_name": "x"} if iter_based else {"exp_name": "x", "epoch_length": 4})
    assert any(r.get("mode") == "train" and "loss" in r and "lr" in r for r in records[1:])


def test_mmdet_warmup_then_step_schedule_is_applied(work_dir: Path) -> None:
    runner = _train(MMDET_1X, work_dir)
    # 4 iterations/epoch, 4 epochs, steps at epochs 2 and 3: the last epoch runs at lr * 0.01
    assert runner.current_lr() == [pytest.approx(0.02 * 0.01)]


def test_mmseg_poly_schedule_reaches_min_lr(work_dir: Path) -> None:
    runner = _train(MMSEG_80K, work_dir)
    # the last iteration used (1 - 11/12) ** 0.9 of the way down to min_lr
    expected = (0.01 - 1e-4) * (1 - 11 / 12) ** 0.9 + 1e-4
    assert runner.current_lr() == [pytest.approx(expected)]


def test_mmdet3d_cyclic_moves_adam_betas(work_dir: Path) -> None:
    runner = _train(MMDET3D_CYCLIC, work_dir)
    assert sorted(p.name for p in work_dir.glob("epoch_*.pth")) == ["epoch_2.pth", "epoch_3.pth"]
    assert runner.current_momentum() != [0.95]
