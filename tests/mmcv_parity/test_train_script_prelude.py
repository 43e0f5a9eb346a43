"""The part of an mmdet 2.x / mmseg 0.x ``tools/train.py`` that runs before training, on the layer:
argument parsing with ``DictAction``, ``Config.fromfile`` of a ``_base_`` tree, the config rewrites
those projects do (``replace_cfg_vals``-, ``update_data_root``- and ``compat_cfg``-style), work dir,
config dump, root logger, environment and git hash, model building through a child registry and
``init_weights``. Written from the public shape of those scripts (no code copied)."""

from __future__ import annotations

import argparse
import copy
import logging
import os.path as osp
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

BASE_RUNTIME = """
checkpoint_config = dict(interval=1)
log_config = dict(interval=50, hooks=[dict(type='TextLoggerHook')])
custom_hooks = [dict(type='NumClassCheckHook')]
dist_params = dict(backend='nccl')
log_level = 'INFO'
load_from = None
resume_from = None
workflow = [('train', 1)]
"""
BASE_DATA = """
dataset_type = 'CocoDataset'
data_root = 'data/coco/'
data = dict(
    samples_per_gpu=2,
    workers_per_gpu=2,
    train=dict(type=dataset_type, ann_file=data_root + 'annotations/train.json', img_prefix=data_root + 'train/'),
    val=dict(type=dataset_type, ann_file=data_root + 'annotations/val.json', img_prefix=data_root + 'val/'),
    test=dict(type=dataset_type, ann_file=data_root + 'annotations/val.json', img_prefix=data_root + 'val/'))
evaluation = dict(interval=1, metric='bbox')
"""
BASE_SCHEDULE = """
optimizer = dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001)
optimizer_config = dict(grad_clip=None)
lr_config = dict(policy='step', warmup='linear', warmup_iters=500, warmup_ratio=0.001, step=[8, 11])
runner = dict(type='EpochBasedRunner', max_epochs=12)
"""
CONFIG = """
_base_ = ['../_base_/default_runtime.py', '../_base_/coco.py', '../_base_/schedule_1x.py']
model = dict(type='TinyDetector', num_classes=80, backbone=dict(type='TinyBackbone', depth=2),
             init_cfg=dict(type='Xavier', layer='Linear'))
optimizer = dict(lr=0.01, paramwise_cfg=dict(norm_decay_mult=0.0))
lr_config = dict(step=[16, 22])
runner = dict(max_epochs={{_base_.runner.max_epochs}})
"""


def write_configs(root: Path) -> Path:
    (root / "_base_").mkdir(parents=True)
    (root / "_base_" / "default_runtime.py").write_text(BASE_RUNTIME)
    (root / "_base_" / "coco.py").write_text(BASE_DATA)
    (root / "_base_" / "schedule_1x.py").write_text(BASE_SCHEDULE)
    (root / "tiny").mkdir()
    (root / "tiny" / "tiny_detector_1x_coco.py").write_text(CONFIG)
    return root / "tiny" / "tiny_detector_1x_coco.py"


def parse_args(argv: list[str]) -> argparse.Namespace:
    from mmcv import DictAction

    parser = argparse.ArgumentParser(description="Train a detector")
    parser.add_argument("config")
    parser.add_argument("--work-dir")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--cfg-options", nargs="+", action=DictAction)
    return parser.parse_args(argv)


def replace_placeholders(cfg: Any) -> Any:
    """``replace_cfg_vals``-style: a new Config from the old one's dict and filename."""
    from mmcv import Config

    return Config(copy.deepcopy(cfg._cfg_dict), filename=cfg.filename)


def update_data_root(cfg: Any, new_root: str) -> None:
    import mmcv

    assert isinstance(cfg, mmcv.Config)

    def update(node: Any, old: str) -> None:
        for key, value in node.items():
            if isinstance(value, mmcv.ConfigDict):
                update(value, old)
            if isinstance(value, str) and old in value:
                node[key] = value.replace(old, new_root)

    update(cfg.data, cfg.data_root)
    cfg.data_root = new_root


def compat_loader_args(cfg: Any) -> Any:
    from mmcv import ConfigDict

    cfg = copy.deepcopy(cfg)
    for name in ("train_dataloader", "val_dataloader", "test_dataloader"):
        if name not in cfg.data:
            cfg.data[name] = ConfigDict()
    cfg.data.train_dataloader["samples_per_gpu"] = cfg.data.pop("samples_per_gpu")
    workers = cfg.data.pop("workers_per_gpu")
    for name in ("train_dataloader", "val_dataloader", "test_dataloader"):
        cfg.data[name]["workers_per_gpu"] = workers
    if "runner" not in cfg:
        cfg.runner = ConfigDict({"type": "EpochBasedRunner", "max_epochs": cfg.total_epochs})
    return cfg


def test_an_mmdet_style_train_script_prelude_runs_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mmcv
    from mmcv import Config
    from mmcv.runner import BaseModule
    from mmcv.utils import Registry, collect_env, get_git_hash, get_logger

    monkeypatch.setattr(mmcv.utils.logging, "logger_initialized", {})  # as in a fresh process: ours is the first
    config = write_configs(tmp_path / "configs")
    args = parse_args([str(config), "--work-dir", str(tmp_path / "work"), "--cfg-options",
                       "data.samples_per_gpu=4", "model.backbone.depth=3", "workflow=[(train,1)]"])
    cfg = Config.fromfile(args.config)
    cfg = replace_placeholders(cfg)
    update_data_root(cfg, "/datasets/coco/")
    cfg.merge_from_dict(args.cfg_options)
    if cfg.get("custom_imports", None):
        mmcv.utils.import_modules_from_strings(**cfg["custom_imports"])
    cfg.work_dir = args.work_dir if args.work_dir is not None else osp.join("./work_dirs", config.stem)
    cfg.gpu_ids = range(1)
    assert cfg.runner.max_epochs == 12 and cfg.lr_config.step == [16, 22] and cfg.lr_config.warmup == "linear"
    assert cfg.data.train.ann_file == "/datasets/coco/annotations/train.json" and cfg.data.samples_per_gpu == 4
    assert cfg.optimizer == dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=0.0001,
                                 paramwise_cfg=dict(norm_decay_mult=0.0))
    assert cfg.workflow == [("train", 1)] and cfg.model.backbone.depth == 3

    mmcv.mkdir_or_exist(osp.abspath(cfg.work_dir))
    cfg.dump(osp.join(cfg.work_dir, osp.basename(args.config)))
    timestamp = time.strftime("%Y%m%d_%H%M%S", time.localtime())
    log_file = osp.join(cfg.work_dir, f"{timestamp}.log")
    logger = get_logger("mmdet_prelude_parity", log_file=log_file, log_level=cfg.log_level)
    try:
        env_info = "\n".join(f"{k}: {v}" for k, v in collect_env().items())
        logger.info("Environment info:\n" + env_info)
        logger.info(f"Config:\n{cfg.pretty_text}")
        meta = dict(env_info=env_info, config=cfg.pretty_text, seed=args.seed, exp_name=osp.basename(args.config))
        meta["mmdet_version"] = "2.25.0" + get_git_hash()[:7]

        models = Registry("models", scope="mmdet_prelude_parity")

        @models.register_module()
        class TinyBackbone(BaseModule):
            def __init__(self, depth: int, init_cfg: Any = None) -> None:
                super().__init__(init_cfg)
                self.layers = nn.Sequential(*[nn.Linear(4, 4) for _ in range(depth)])

        @models.register_module()
        class TinyDetector(BaseModule):
            def __init__(self, num_classes: int, backbone: dict[str, Any], train_cfg: Any = None,
                         test_cfg: Any = None, init_cfg: Any = None) -> None:
                super().__init__(init_cfg)
                self.backbone = models.build(backbone)
                self.cls = nn.Linear(4, num_classes)

        torch.manual_seed(0)
        model = models.build(cfg.model, default_args=dict(train_cfg=cfg.get("train_cfg"),
                                                          test_cfg=cfg.get("test_cfg")))
        model.init_weights()
        assert len(model.backbone.layers) == 3
        train_cfg = compat_loader_args(cfg)
        assert train_cfg.data.train_dataloader == dict(samples_per_gpu=4, workers_per_gpu=2)
        assert "samples_per_gpu" in cfg.data  # the deep copy left the original alone
    finally:
        for handler in list(logger.handlers):
            handler.close()
            logger.removeHandler(handler)
        logging.getLogger("mmdet_prelude_parity").handlers.clear()
    text = Path(log_file).read_text()
    assert "Config:\ncheckpoint_config = dict(interval=1)\n" in text
    assert "INFO - initialize TinyDetector with init_cfg {'type': 'Xavier', 'layer': 'Linear'}" in text
    assert "backbone.layers.2.weight - torch.Size([4, 4]): \nXavierInit: gain=1, distribution=normal, bias=0" in text
    assert Config.fromfile(Path(cfg.work_dir) / config.name) == cfg
