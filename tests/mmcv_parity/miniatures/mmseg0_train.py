"""A miniature of mmseg 0.x's ``tools/train.py`` + ``mmseg/apis/train.py`` (``train_segmentor``), on a toy segmentor.

Imports only ``mmcv`` and torch (see ``mmdet2_train.py``); the mmseg parts it needs (registries,
dataset with ``pre_eval``, ``build_dataloader``, the ``EvalHook`` subclass, ``train_segmentor``)
are written here from the public structure of mmseg 0.2x.

Usage: python mmseg0_train.py CONFIG --work-dir DIR [--seed N] [--cfg-options k=v ...]
"""

import argparse
import os.path as osp
import random
import time
from collections import OrderedDict
from functools import partial

import mmcv
import numpy as np
import torch
import torch.nn.functional as F
from mmcv import Config, DictAction
from mmcv.parallel import DataContainer as DC
from mmcv.parallel import MMDataParallel, collate
from mmcv.runner import BaseModule, build_optimizer, build_runner
from mmcv.runner import EvalHook as _EvalHook
from mmcv.utils import Registry, build_from_cfg, collect_env, get_logger
from torch import nn
from torch.utils.data import DataLoader, Dataset

SEGMENTORS = Registry('segmentor')
DATASETS = Registry('dataset')


def get_root_logger(log_file=None, log_level='INFO'):
    return get_logger(name='mmseg', log_file=log_file, log_level=log_level)


@SEGMENTORS.register_module()
class ToySegmentor(BaseModule):

    def __init__(self, num_classes=3, train_cfg=None, test_cfg=None, init_cfg=None):
        super().__init__(init_cfg)
        self.backbone = nn.Sequential(nn.Conv2d(3, 8, 1), nn.BatchNorm2d(8), nn.ReLU())
        self.decode_head = nn.Conv2d(8, num_classes, 1)
        self.num_classes = num_classes

    def forward(self, img, img_metas, return_loss=True, **kwargs):
        logits = self.decode_head(self.backbone(img))
        if return_loss:
            target = kwargs['gt_semantic_seg'].squeeze(1).long()
            acc = (logits.argmax(1) == target).float().mean() * 100
            return {'decode.loss_ce': F.cross_entropy(logits, target), 'decode.acc_seg': acc}
        return list(logits.argmax(1).numpy())

    def _parse_losses(self, losses):
        log_vars = OrderedDict((name, value.mean()) for name, value in losses.items())
        loss = sum(v for k, v in log_vars.items() if 'loss' in k)
        log_vars['loss'] = loss
        return loss, OrderedDict((k, v.item()) for k, v in log_vars.items())

    def train_step(self, data_batch, optimizer, **kwargs):
        loss, log_vars = self._parse_losses(self(**data_batch))
        return dict(loss=loss, log_vars=log_vars, num_samples=len(data_batch['img_metas']))


@DATASETS.register_module()
class ToySegDataset(Dataset):
    CLASSES = ('road', 'car', 'sky')

    def __init__(self, num, seed, test_mode=False):
        g = torch.Generator().manual_seed(seed)
        self.imgs = torch.randn(num, 3, 4, 4, generator=g)
        self.segs = (self.imgs + 0.5 * torch.randn(num, 3, 4, 4, generator=g)).argmax(dim=1, keepdim=True)
        self.test_mode = test_mode

    def __len__(self):
        return len(self.imgs)

    def __getitem__(self, idx):
        data = dict(img=DC(self.imgs[idx], stack=True), img_metas=DC(dict(idx=idx), cpu_only=True))
        if not self.test_mode:
            data['gt_semantic_seg'] = DC(self.segs[idx].float(), stack=True)
        return data

    def pre_eval(self, preds, indices):
        results = []
        for pred, index in zip(preds, indices):
            label = self.segs[index, 0].numpy()
            inter = np.array([np.sum((pred == c) & (label == c)) for c in range(3)], dtype=np.float64)
            area_pred = np.array([np.sum(pred == c) for c in range(3)], dtype=np.float64)
            area_label = np.array([np.sum(label == c) for c in range(3)], dtype=np.float64)
            results.append((inter, area_pred + area_label - inter, area_pred, area_label))
        return results

    def evaluate(self, results, metric='mIoU', logger=None, **kwargs):
        inter, union, _, label = (sum(r[i] for r in results) for i in range(4))
        return OrderedDict(aAcc=float(inter.sum() / label.sum()), mIoU=float(np.nanmean(inter / union)),
                           mAcc=float(np.nanmean(inter / label)))


def build_dataloader(dataset, samples_per_gpu, workers_per_gpu, num_gpus=1, dist=True, shuffle=True, seed=None,
                     drop_last=False, pin_memory=True, persistent_workers=True, **kwargs):
    batch_size = num_gpus * samples_per_gpu
    return DataLoader(dataset, batch_size=batch_size, sampler=None, num_workers=workers_per_gpu,
                      collate_fn=partial(collate, samples_per_gpu=samples_per_gpu), pin_memory=False,
                      shuffle=shuffle, drop_last=drop_last, **kwargs)


def single_gpu_test(model, data_loader, pre_eval=False):
    model.eval()
    results = []
    dataset = data_loader.dataset
    loader_indices = data_loader.batch_sampler
    for batch_indices, data in zip(loader_indices, data_loader):
        with torch.no_grad():
            result = model(return_loss=False, **data)
        if pre_eval:
            result = dataset.pre_eval(result, indices=batch_indices)
        results.extend(result)
    return results


class EvalHook(_EvalHook):
    greater_keys = ('mIoU', 'mAcc', 'aAcc')

    def __init__(self, *args, by_epoch=False, efficient_test=False, pre_eval=False, **kwargs):
        super().__init__(*args, by_epoch=by_epoch, **kwargs)
        self.pre_eval = pre_eval

    def _do_evaluate(self, runner):
        if not self._should_evaluate(runner):
            return
        results = single_gpu_test(runner.model, self.dataloader, pre_eval=self.pre_eval)
        runner.log_buffer.clear()
        runner.log_buffer.output['eval_iter_num'] = len(self.dataloader)
        key_score = self.evaluate(runner, results)
        if self.save_best:
            self._save_ckpt(runner, key_score)


def train_segmentor(model, dataset, cfg, distributed=False, validate=False, timestamp=None, meta=None):
    logger = get_root_logger(log_level=cfg.log_level)
    dataset = dataset if isinstance(dataset, (list, tuple)) else [dataset]
    loader_cfg = dict(num_gpus=len(cfg.gpu_ids), dist=distributed, seed=cfg.seed, drop_last=True)
    loader_cfg.update({k: v for k, v in cfg.data.items()
                       if k not in ['train', 'val', 'test', 'train_dataloader', 'val_dataloader', 'test_dataloader']})
    train_loader_cfg = {**loader_cfg, **cfg.data.get('train_dataloader', {})}
    data_loaders = [build_dataloader(ds, **train_loader_cfg) for ds in dataset]

    model = MMDataParallel(model, device_ids=cfg.gpu_ids)
    optimizer = build_optimizer(model, cfg.optimizer)
    if cfg.get('runner') is None:
        cfg.runner = {'type': 'IterBasedRunner', 'max_iters': cfg.total_iters}
    runner = build_runner(cfg.runner, default_args=dict(model=model, batch_processor=None, optimizer=optimizer,
                                                        work_dir=cfg.work_dir, logger=logger, meta=meta))
    runner.register_training_hooks(cfg.lr_config, cfg.optimizer_config, cfg.checkpoint_config, cfg.log_config,
                                   cfg.get('momentum_config', None))
    runner.timestamp = timestamp

    if validate:
        val_dataset = build_from_cfg(cfg.data.val, DATASETS, dict(test_mode=True))
        val_loader_cfg = {**loader_cfg, 'samples_per_gpu': 1, 'shuffle': False, **cfg.data.get('val_dataloader', {})}
        val_dataloader = build_dataloader(val_dataset, **val_loader_cfg)
        eval_cfg = cfg.get('evaluation', {})
        eval_cfg['by_epoch'] = cfg.runner['type'] != 'IterBasedRunner'
        runner.register_hook(EvalHook(val_dataloader, **eval_cfg), priority='LOW')

    if cfg.resume_from:
        runner.resume(cfg.resume_from)
    elif cfg.load_from:
        runner.load_checkpoint(cfg.load_from)
    runner.run(data_loaders, cfg.workflow)


def parse_args():
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--resume-from', help='the checkpoint file to resume from')
    parser.add_argument('--no-validate', action='store_true')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = args.work_dir
    if args.resume_from is not None:
        cfg.resume_from = args.resume_from
    cfg.gpu_ids = [0]
    mmcv.mkdir_or_exist(osp.abspath(cfg.work_dir))
    cfg.dump(osp.join(cfg.work_dir, osp.basename(args.config)))
    timestamp = time.strftime('%Y%m%d_%H%M%S', time.localtime())
    logger = get_root_logger(log_file=osp.join(cfg.work_dir, f'{timestamp}.log'), log_level=cfg.log_level)
    meta = dict()
    env_info = '\n'.join([f'{k}: {v}' for k, v in collect_env().items()])
    logger.info('Environment info:\n' + env_info)
    meta['env_info'] = env_info
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    cfg.seed = args.seed
    meta['seed'] = args.seed
    meta['exp_name'] = osp.basename(args.config)
    model = build_from_cfg(cfg.model, SEGMENTORS, dict(train_cfg=cfg.get('train_cfg'), test_cfg=cfg.get('test_cfg')))
    model.init_weights()
    datasets = [build_from_cfg(cfg.data.train, DATASETS)]
    if cfg.checkpoint_config is not None:
        cfg.checkpoint_config.meta = dict(mmseg_version='0.30.0', config=cfg.pretty_text, CLASSES=datasets[0].CLASSES)
    model.CLASSES = datasets[0].CLASSES
    train_segmentor(model, datasets, cfg, distributed=False, validate=(not args.no_validate), timestamp=timestamp,
                    meta=meta)


if __name__ == '__main__':
    main()
