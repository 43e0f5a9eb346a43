"""A miniature of mmdet 2.x's ``tools/train.py`` + ``mmdet/apis/train.py`` (same imports and flow), on a toy detector.

It imports only ``mmcv`` and torch: it runs on real mmcv 1.7.2 and, after
``runnerkit.compat.mmcv.install()``, on runnerkit (see ``run_miniature.py``). The parts of mmdet it
needs (registries, the dataset, ``build_dataloader``, ``EvalHook``/``DistEvalHook`` subclasses,
``ExpMomentumEMAHook``, ``NumClassCheckHook``, ``CheckInvalidLossHook``, ``train_detector``) are
written here from the public structure of mmdet 2.25.

Usage: python mmdet2_train.py CONFIG --work-dir DIR [--resume-from CKPT] [--seed N]
       [--launcher pytorch] [--cfg-options k=v ...] [--no-validate]
"""

import argparse
import math
import os
import os.path as osp
import time
from collections import OrderedDict
from functools import partial

import mmcv
import numpy as np
import torch
import torch.nn.functional as F
from mmcv import Config, DictAction
from mmcv.engine import multi_gpu_test
from mmcv.parallel import DataContainer as DC
from mmcv.parallel import MMDataParallel, MMDistributedDataParallel, collate, is_module_wrapper
from mmcv.runner import (
    HOOKS,
    BaseModule,
    DistSamplerSeedHook,
    EpochBasedRunner,
    Fp16OptimizerHook,
    Hook,
    OptimizerHook,
    auto_fp16,
    build_optimizer,
    build_runner,
    get_dist_info,
    init_dist,
)
from mmcv.runner import DistEvalHook as BaseDistEvalHook
from mmcv.runner import EvalHook as BaseEvalHook
from mmcv.utils import Registry, build_from_cfg, collect_env, get_logger
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

DETECTORS = Registry('detector')
DATASETS = Registry('dataset')


def get_root_logger(log_file=None, log_level='INFO'):
    return get_logger(name='mmdet', log_file=log_file, log_level=log_level)


# -- mmdet/models ---------------------------------------------------------------------------------

@DETECTORS.register_module()
class ToyDetector(BaseModule):

    def __init__(self, num_classes=3, train_cfg=None, test_cfg=None, init_cfg=None):
        super().__init__(init_cfg)
        self.backbone = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU())
        self.head = nn.Linear(16, num_classes)
        self.num_classes = num_classes
        self.fp16_enabled = False

    @auto_fp16(apply_to=('img', ))
    def forward(self, img, img_metas, return_loss=True, **kwargs):
        logits = self.head(self.backbone(img))
        if return_loss:
            labels = torch.stack(kwargs['gt_labels'])
            return dict(loss_cls=F.cross_entropy(logits.float(), labels), loss_reg=0.01 * logits.float().pow(2).mean())
        return logits.argmax(dim=1).tolist()

    def _parse_losses(self, losses):
        log_vars = OrderedDict()
        for name, value in losses.items():
            log_vars[name] = value.mean()
        loss = sum(v for k, v in log_vars.items() if 'loss' in k)
        log_vars['loss'] = loss
        for name, value in log_vars.items():
            log_vars[name] = value.item()
        return loss, log_vars

    def train_step(self, data, optimizer):
        loss, log_vars = self._parse_losses(self(**data))
        return dict(loss=loss, log_vars=log_vars, num_samples=len(data['img_metas']))

    def val_step(self, data, optimizer=None):
        return self.train_step(data, optimizer)


def build_detector(cfg, train_cfg=None, test_cfg=None):
    return build_from_cfg(cfg, DETECTORS, dict(train_cfg=train_cfg, test_cfg=test_cfg))


# -- mmdet/datasets -------------------------------------------------------------------------------

@DATASETS.register_module()
class ToyDetDataset(Dataset):
    CLASSES = ('cat', 'dog', 'bird')

    def __init__(self, num, seed, test_mode=False):
        g = torch.Generator().manual_seed(seed)
        self.imgs = torch.randn(num, 8, generator=g)
        self.labels = (self.imgs[:, :3] + 0.5 * torch.randn(num, 3, generator=g)).argmax(dim=1)
        self.test_mode = test_mode
        self.flag = np.zeros(num, dtype=np.uint8)

    def __len__(self):
        return len(self.imgs)

    def __getitem__(self, idx):
        return dict(img=DC(self.imgs[idx], stack=True, pad_dims=None), gt_labels=DC(self.labels[idx]),
                    img_metas=DC(dict(idx=idx), cpu_only=True))

    def evaluate(self, results, metric='mAP', logger=None, **kwargs):
        hits = sum(int(r == int(self.labels[i])) for i, r in enumerate(results))
        return OrderedDict([(metric, hits / len(results))])


def build_dataset(cfg, default_args=None):
    return build_from_cfg(cfg, DATASETS, default_args)


class GroupSampler(Sampler):

    def __init__(self, dataset, samples_per_gpu=1):
        self.dataset = dataset
        self.samples_per_gpu = samples_per_gpu
        self.num_samples = math.ceil(len(dataset) / samples_per_gpu) * samples_per_gpu

    def __iter__(self):
        indices = np.random.permutation(len(self.dataset))
        return iter(indices.tolist())

    def __len__(self):
        return self.num_samples


def worker_init_fn(worker_id, num_workers, rank, seed):
    np.random.seed(num_workers * rank + worker_id + seed)


def build_dataloader(dataset, samples_per_gpu, workers_per_gpu, num_gpus=1, dist=True, shuffle=True, seed=None,
                     runner_type='EpochBasedRunner', persistent_workers=False, **kwargs):
    rank, world_size = get_dist_info()
    if dist:
        sampler = DistributedSampler(dataset, world_size, rank, shuffle=shuffle, seed=seed or 0)
        batch_size = samples_per_gpu
    else:
        sampler = GroupSampler(dataset, samples_per_gpu) if shuffle else None
        batch_size = num_gpus * samples_per_gpu
    init_fn = partial(worker_init_fn, num_workers=workers_per_gpu, rank=rank, seed=seed) if seed is not None else None
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=workers_per_gpu,
                      collate_fn=partial(collate, samples_per_gpu=samples_per_gpu), pin_memory=False,
                      worker_init_fn=init_fn, **kwargs)


# -- mmdet/core/evaluation, mmdet/core/hook ---------------------------------------------------------

def single_gpu_test(model, data_loader):
    model.eval()
    results = []
    for data in data_loader:
        with torch.no_grad():
            results.extend(model(return_loss=False, **data))
    return results


class EvalHook(BaseEvalHook):

    def _do_evaluate(self, runner):
        if not self._should_evaluate(runner):
            return
        results = single_gpu_test(runner.model, self.dataloader)
        runner.log_buffer.output['eval_iter_num'] = len(self.dataloader)
        key_score = self.evaluate(runner, results)
        if self.save_best:
            self._save_ckpt(runner, key_score)


class DistEvalHook(BaseDistEvalHook):

    def _do_evaluate(self, runner):
        if not self._should_evaluate(runner):
            return
        tmpdir = self.tmpdir or osp.join(runner.work_dir, '.eval_hook')
        results = multi_gpu_test(runner.model, self.dataloader, tmpdir=tmpdir, gpu_collect=self.gpu_collect)
        if runner.rank == 0:
            runner.log_buffer.output['eval_iter_num'] = len(self.dataloader)
            key_score = self.evaluate(runner, results)
            if self.save_best:
                self._save_ckpt(runner, key_score)


class BaseEMAHook(Hook):
    """mmdet's: the averages are ``ema_*`` buffers of the model, swapped in for evaluation."""

    def __init__(self, momentum=0.0002, interval=1, skip_buffers=False, resume_from=None, momentum_fun=None):
        assert 0 < momentum < 1
        self.momentum = momentum
        self.skip_buffers = skip_buffers
        self.interval = interval
        self.checkpoint = resume_from
        self.momentum_fun = momentum_fun

    def before_run(self, runner):
        model = runner.model
        if is_module_wrapper(model):
            model = model.module
        self.param_ema_buffer = {}
        self.model_parameters = dict(model.named_parameters()) if self.skip_buffers else model.state_dict()
        for name, value in self.model_parameters.items():
            buffer_name = f"ema_{name.replace('.', '_')}"
            self.param_ema_buffer[name] = buffer_name
            model.register_buffer(buffer_name, value.data.clone())
        self.model_buffers = dict(model.named_buffers())
        if self.checkpoint is not None:
            runner.resume(self.checkpoint)

    def get_momentum(self, runner):
        return self.momentum_fun(runner.iter) if self.momentum_fun else self.momentum

    def after_train_iter(self, runner):
        if (runner.iter + 1) % self.interval != 0:
            return
        momentum = self.get_momentum(runner)
        for name, parameter in self.model_parameters.items():
            if parameter.dtype.is_floating_point:
                buffer_parameter = self.model_buffers[self.param_ema_buffer[name]]
                buffer_parameter.mul_(1 - momentum).add_(parameter.data, alpha=momentum)

    def after_train_epoch(self, runner):
        self._swap_ema_parameters()

    def before_train_epoch(self, runner):
        self._swap_ema_parameters()

    def _swap_ema_parameters(self):
        for name, value in self.model_parameters.items():
            temp = value.data.clone()
            ema_buffer = self.model_buffers[self.param_ema_buffer[name]]
            value.data.copy_(ema_buffer.data)
            ema_buffer.data.copy_(temp)


@HOOKS.register_module()
class ExpMomentumEMAHook(BaseEMAHook):

    def __init__(self, total_iter=2000, **kwargs):
        super().__init__(**kwargs)
        self.momentum_fun = lambda x: (1 - self.momentum) * math.exp(-(1 + x) / total_iter) + self.momentum


@HOOKS.register_module()
class NumClassCheckHook(Hook):

    def _check_head(self, runner):
        model = runner.model
        dataset = runner.data_loader.dataset
        assert type(dataset.CLASSES) is not str
        for name, module in model.named_modules():
            if hasattr(module, 'num_classes'):
                assert module.num_classes == len(dataset.CLASSES), (name, module.num_classes)

    def before_train_epoch(self, runner):
        self._check_head(runner)

    def before_val_epoch(self, runner):
        self._check_head(runner)


@HOOKS.register_module()
class CheckInvalidLossHook(Hook):

    def __init__(self, interval=50):
        self.interval = interval

    def after_train_iter(self, runner):
        if self.every_n_iters(runner, self.interval):
            assert torch.isfinite(runner.outputs['loss']), runner.logger.info('loss become infinite or NaN!')


# -- mmdet/apis/train.py ----------------------------------------------------------------------------

def train_detector(model, dataset, cfg, distributed=False, validate=False, timestamp=None, meta=None):
    logger = get_root_logger(log_level=cfg.log_level)
    dataset = dataset if isinstance(dataset, (list, tuple)) else [dataset]
    runner_type = cfg.runner['type']
    train_dataloader_default_args = dict(samples_per_gpu=2, workers_per_gpu=2, num_gpus=len(cfg.gpu_ids),
                                         dist=distributed, seed=cfg.seed, runner_type=runner_type)
    train_loader_cfg = {**train_dataloader_default_args, **cfg.data.get('train_dataloader', {}),
                        'samples_per_gpu': cfg.data.samples_per_gpu, 'workers_per_gpu': cfg.data.workers_per_gpu}
    data_loaders = [build_dataloader(ds, **train_loader_cfg) for ds in dataset]

    if distributed:
        model = MMDistributedDataParallel(model, broadcast_buffers=False,
                                          find_unused_parameters=cfg.get('find_unused_parameters', False))
    else:
        model = MMDataParallel(model, device_ids=cfg.gpu_ids)

    optimizer = build_optimizer(model, cfg.optimizer)
    runner = build_runner(cfg.runner, default_args=dict(model=model, optimizer=optimizer, work_dir=cfg.work_dir,
                                                        logger=logger, meta=meta))
    runner.timestamp = timestamp

    fp16_cfg = cfg.get('fp16', None)
    if fp16_cfg is not None:
        optimizer_config = Fp16OptimizerHook(**cfg.optimizer_config, **fp16_cfg, distributed=distributed)
    elif distributed and 'type' not in cfg.optimizer_config:
        optimizer_config = OptimizerHook(**cfg.optimizer_config)
    else:
        optimizer_config = cfg.optimizer_config

    runner.register_training_hooks(cfg.lr_config, optimizer_config, cfg.checkpoint_config, cfg.log_config,
                                   cfg.get('momentum_config', None), custom_hooks_config=cfg.get('custom_hooks', None))
    if distributed and isinstance(runner, EpochBasedRunner):
        runner.register_hook(DistSamplerSeedHook())

    if validate:
        val_dataset = build_dataset(cfg.data.val, dict(test_mode=True))
        val_dataloader = build_dataloader(val_dataset, samples_per_gpu=cfg.data.samples_per_gpu,
                                          workers_per_gpu=cfg.data.workers_per_gpu, dist=distributed, shuffle=False)
        eval_cfg = cfg.get('evaluation', {})
        eval_cfg['by_epoch'] = cfg.runner['type'] != 'IterBasedRunner'
        eval_hook = DistEvalHook if distributed else EvalHook
        runner.register_hook(eval_hook(val_dataloader, **eval_cfg), priority='LOW')

    if cfg.resume_from:
        runner.resume(cfg.resume_from)
    elif cfg.load_from:
        runner.load_checkpoint(cfg.load_from)
    runner.run(data_loaders, cfg.workflow)


# -- tools/train.py ---------------------------------------------------------------------------------

def parse_args():
    parser = argparse.ArgumentParser(description='Train a detector')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--resume-from', help='the checkpoint file to resume from')
    parser.add_argument('--no-validate', action='store_true')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--deterministic', action='store_true')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def set_random_seed(seed, deterministic=False):
    import random
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = args.work_dir
    if args.resume_from is not None:
        cfg.resume_from = args.resume_from
    cfg.gpu_ids = [0]
    if args.launcher == 'none':
        distributed = False
    else:
        distributed = True
        init_dist(args.launcher, **cfg.dist_params)
        _, world_size = get_dist_info()
        cfg.gpu_ids = range(world_size)

    mmcv.mkdir_or_exist(osp.abspath(cfg.work_dir))
    cfg.dump(osp.join(cfg.work_dir, osp.basename(args.config)))
    timestamp = time.strftime('%Y%m%d_%H%M%S', time.localtime())
    log_file = osp.join(cfg.work_dir, f'{timestamp}.log')
    logger = get_root_logger(log_file=log_file, log_level=cfg.log_level)

    meta = dict()
    env_info_dict = collect_env()
    env_info = '\n'.join([f'{k}: {v}' for k, v in env_info_dict.items()])
    logger.info('Environment info:\n' + env_info)
    meta['env_info'] = env_info
    meta['config'] = cfg.pretty_text
    logger.info(f'Distributed training: {distributed}')
    logger.info(f'Config:\n{cfg.pretty_text}')

    set_random_seed(args.seed, deterministic=args.deterministic)
    cfg.seed = args.seed
    meta['seed'] = args.seed
    meta['exp_name'] = osp.basename(args.config)

    model = build_detector(cfg.model, train_cfg=cfg.get('train_cfg'), test_cfg=cfg.get('test_cfg'))
    model.init_weights()
    datasets = [build_dataset(cfg.data.train)]
    if cfg.checkpoint_config is not None:
        cfg.checkpoint_config.meta = dict(mmdet_version='2.25.0', CLASSES=datasets[0].CLASSES)
    model.CLASSES = datasets[0].CLASSES
    train_detector(model, datasets, cfg, distributed=distributed, validate=(not args.no_validate),
                   timestamp=timestamp, meta=meta)


if __name__ == '__main__':
    main()
