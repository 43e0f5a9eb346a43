"""mmseg.apis.train: seeds and ``train_segmentor``, in mmseg 0.2x's order."""

import random

import numpy as np
import torch
from mmcv.parallel import MMDataParallel, MMDistributedDataParallel
from mmcv.runner import HOOKS, DistSamplerSeedHook, EpochBasedRunner, build_optimizer, build_runner
from mmcv.utils import build_from_cfg, get_logger

from .core import DistEvalHook, EvalHook
from .datasets import build_dataloader, build_dataset


def get_root_logger(log_file=None, log_level="INFO"):
    return get_logger(name="mmseg", log_file=log_file, log_level=log_level)


def init_random_seed(seed=None, device="cpu"):
    return seed if seed is not None else np.random.randint(2**31)


def set_random_seed(seed, deterministic=False):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    if deterministic:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def train_segmentor(model, dataset, cfg, distributed=False, validate=False, timestamp=None, meta=None):
    logger = get_root_logger(log_level=cfg.log_level)
    dataset = dataset if isinstance(dataset, (list, tuple)) else [dataset]
    loader_cfg = dict(num_gpus=len(cfg.gpu_ids), dist=distributed, seed=cfg.seed, drop_last=True)
    loader_cfg.update({k: v for k, v in cfg.data.items()
                       if k not in ["train", "val", "test", "train_dataloader", "val_dataloader", "test_dataloader"]})
    train_loader_cfg = {**loader_cfg, **cfg.data.get("train_dataloader", {})}
    data_loaders = [build_dataloader(ds, **train_loader_cfg) for ds in dataset]

    if distributed:
        model = MMDistributedDataParallel(model, device_ids=None, broadcast_buffers=False,
                                          find_unused_parameters=cfg.get("find_unused_parameters", False))
    else:
        model = MMDataParallel(model, device_ids=cfg.gpu_ids)

    optimizer = build_optimizer(model, cfg.optimizer)
    if cfg.get("runner") is None:
        cfg.runner = {"type": "IterBasedRunner", "max_iters": cfg.total_iters}
    runner = build_runner(cfg.runner, default_args=dict(model=model, batch_processor=None, optimizer=optimizer,
                                                        work_dir=cfg.work_dir, logger=logger, meta=meta))
    runner.register_training_hooks(cfg.lr_config, cfg.optimizer_config, cfg.checkpoint_config, cfg.log_config,
                                   cfg.get("momentum_config", None))
    if distributed and isinstance(runner, EpochBasedRunner):
        runner.register_hook(DistSamplerSeedHook())
    runner.timestamp = timestamp

    if validate:
        val_dataset = build_dataset(cfg.data.val, dict(test_mode=True))
        val_loader_cfg = {**loader_cfg, "samples_per_gpu": 1, "shuffle": False, **cfg.data.get("val_dataloader", {})}
        val_dataloader = build_dataloader(val_dataset, **val_loader_cfg)
        eval_cfg = cfg.get("evaluation", {})
        eval_cfg["by_epoch"] = cfg.runner["type"] != "IterBasedRunner"
        eval_hook = DistEvalHook if distributed else EvalHook
        runner.register_hook(eval_hook(val_dataloader, **eval_cfg), priority="LOW")

    if cfg.get("custom_hooks", None):
        custom_hooks = cfg.custom_hooks
        assert isinstance(custom_hooks, list), f"custom_hooks expect list type, but got {type(custom_hooks)}"
        for hook_cfg in cfg.custom_hooks:
            hook_cfg = hook_cfg.copy()
            priority = hook_cfg.pop("priority", "NORMAL")
            runner.register_hook(build_from_cfg(hook_cfg, HOOKS), priority=priority)

    if cfg.resume_from:
        # mmcv's IterBasedRunner.resume asks CUDA for its device with map_location='default': on a CPU, 'cpu'
        runner.resume(cfg.resume_from, map_location="default" if torch.cuda.is_available() else "cpu")
    elif cfg.load_from:
        runner.load_checkpoint(cfg.load_from)
    runner.run(data_loaders, cfg.workflow)
    return runner
