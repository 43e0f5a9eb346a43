"""mmdet.apis.train: seeds and ``train_detector``, in mmdet 2.25's order."""

import random

import numpy as np
import torch
from mmcv.parallel import MMDataParallel, MMDistributedDataParallel
from mmcv.runner import (
    DistSamplerSeedHook,
    EpochBasedRunner,
    Fp16OptimizerHook,
    OptimizerHook,
    build_optimizer,
    build_runner,
)

from .core import DistEvalHook, EvalHook
from .datasets import build_dataloader, build_dataset
from .utils import find_latest_checkpoint, get_root_logger


def init_random_seed(seed=None, device="cpu"):
    if seed is not None:
        return seed
    return np.random.randint(2**31)


def set_random_seed(seed, deterministic=False):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    if deterministic:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def train_detector(model, dataset, cfg, distributed=False, validate=False, timestamp=None, meta=None):
    logger = get_root_logger(log_level=cfg.log_level)
    dataset = dataset if isinstance(dataset, (list, tuple)) else [dataset]
    runner_type = "EpochBasedRunner" if "runner" not in cfg else cfg.runner["type"]
    train_dataloader_default_args = dict(samples_per_gpu=2, workers_per_gpu=0, num_gpus=len(cfg.gpu_ids),
                                         dist=distributed, seed=cfg.seed, runner_type=runner_type,
                                         persistent_workers=False)
    train_loader_cfg = {**train_dataloader_default_args, **cfg.data.get("train_dataloader", {})}
    data_loaders = [build_dataloader(ds, **train_loader_cfg) for ds in dataset]

    if distributed:
        model = MMDistributedDataParallel(model, device_ids=None, broadcast_buffers=False,
                                          find_unused_parameters=cfg.get("find_unused_parameters", False))
    else:
        model = MMDataParallel(model, device_ids=cfg.gpu_ids)

    optimizer = build_optimizer(model, cfg.optimizer)
    runner = build_runner(cfg.runner, default_args=dict(model=model, optimizer=optimizer, work_dir=cfg.work_dir,
                                                        logger=logger, meta=meta))
    runner.timestamp = timestamp

    fp16_cfg = cfg.get("fp16", None)
    if fp16_cfg is not None:
        optimizer_config = Fp16OptimizerHook(**cfg.optimizer_config, **fp16_cfg, distributed=distributed)
    elif distributed and "type" not in cfg.optimizer_config:
        optimizer_config = OptimizerHook(**cfg.optimizer_config)
    else:
        optimizer_config = cfg.optimizer_config
    runner.register_training_hooks(cfg.lr_config, optimizer_config, cfg.checkpoint_config, cfg.log_config,
                                   cfg.get("momentum_config", None), custom_hooks_config=cfg.get("custom_hooks", None))
    if distributed and isinstance(runner, EpochBasedRunner):
        runner.register_hook(DistSamplerSeedHook())

    if validate:
        val_dataloader_default_args = dict(samples_per_gpu=1, workers_per_gpu=0, dist=distributed, shuffle=False,
                                           persistent_workers=False)
        val_dataloader_args = {**val_dataloader_default_args, **cfg.data.get("val_dataloader", {})}
        val_dataset = build_dataset(cfg.data.val, dict(test_mode=True))
        val_dataloader = build_dataloader(val_dataset, **val_dataloader_args)
        eval_cfg = cfg.get("evaluation", {})
        eval_cfg["by_epoch"] = cfg.runner["type"] != "IterBasedRunner"
        eval_hook = DistEvalHook if distributed else EvalHook
        runner.register_hook(eval_hook(val_dataloader, **eval_cfg), priority="LOW")

    resume_from = None
    if cfg.resume_from is None and cfg.get("auto_resume"):
        resume_from = find_latest_checkpoint(cfg.work_dir)
    if resume_from is not None:
        cfg.resume_from = resume_from
    if cfg.resume_from:
        runner.resume(cfg.resume_from)
    elif cfg.load_from:
        runner.load_checkpoint(cfg.load_from)
    runner.run(data_loaders, cfg.workflow)
    return runner
