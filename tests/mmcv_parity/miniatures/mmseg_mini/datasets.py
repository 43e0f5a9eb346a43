"""mmseg.datasets: a synthetic segmentation dataset (pre_eval + mIoU/mAcc/aAcc) and build_dataloader."""

from collections import OrderedDict
from functools import partial

import numpy as np
import torch
from mmcv.parallel import DataContainer as DC
from mmcv.parallel import collate
from mmcv.runner import get_dist_info
from mmcv.utils import Registry, build_from_cfg, print_log
from torch.utils.data import DataLoader, Dataset, DistributedSampler

DATASETS = Registry("dataset")


def intersect_and_union(pred_label, label, num_classes, ignore_index):
    pred_label, label = torch.as_tensor(pred_label), torch.as_tensor(label)
    mask = label != ignore_index
    pred_label, label = pred_label[mask], label[mask]
    intersect = pred_label[pred_label == label]
    area_intersect = torch.histc(intersect.float(), bins=num_classes, min=0, max=num_classes - 1)
    area_pred = torch.histc(pred_label.float(), bins=num_classes, min=0, max=num_classes - 1)
    area_label = torch.histc(label.float(), bins=num_classes, min=0, max=num_classes - 1)
    return area_intersect, area_pred + area_label - area_intersect, area_pred, area_label


@DATASETS.register_module()
class ToySegDataset(Dataset):
    """Noisy images with a square (class 1) and a bar (class 2) on background (class 0); a few pixels ignored."""

    CLASSES = ("background", "square", "bar")
    PALETTE = [[0, 0, 0], [255, 0, 0], [0, 255, 0]]  # noqa: RUF012 (as mmseg)

    def __init__(self, num_images, seed, img_size=16, ignore_index=255, test_mode=False):
        self.test_mode, self.ignore_index = test_mode, ignore_index
        g = torch.Generator().manual_seed(seed)
        self.imgs = 0.2 * torch.randn(num_images, 3, img_size, img_size, generator=g)
        self.segs = torch.zeros(num_images, img_size, img_size, dtype=torch.long)
        for i in range(num_images):
            x, y = (int(v) for v in torch.randint(0, img_size - 6, (2,), generator=g))
            self.segs[i, y:y + 6, x:x + 6] = 1
            row = int(torch.randint(0, img_size - 2, (1,), generator=g))
            self.segs[i, row:row + 2, :] = 2
            self.imgs[i, 0] += (self.segs[i] == 1).float()
            self.imgs[i, 1] += (self.segs[i] == 2).float()
            self.segs[i, 0, :2] = ignore_index

    def __len__(self):
        return len(self.imgs)

    def __getitem__(self, idx):
        img_metas = dict(idx=idx, ori_shape=tuple(self.imgs[idx].shape[1:]), flip=False)
        if self.test_mode:
            return dict(img=[self.imgs[idx]], img_metas=[DC(img_metas, cpu_only=True)])
        return dict(img=DC(self.imgs[idx], stack=True), img_metas=DC(img_metas, cpu_only=True),
                    gt_semantic_seg=DC(self.segs[idx][None], stack=True))

    def pre_eval(self, preds, indices):
        if not isinstance(indices, list):
            indices = [indices]
        if not isinstance(preds, list):
            preds = [preds]
        return [intersect_and_union(pred, self.segs[index], len(self.CLASSES), self.ignore_index)
                for pred, index in zip(preds, indices)]

    def evaluate(self, results, metric="mIoU", logger=None, **kwargs):
        total = [sum(r[k] for r in results) for k in range(4)]
        area_intersect, area_union, _, area_label = total
        ret_metrics = OrderedDict(aAcc=float(area_intersect.sum() / area_label.sum()))
        ret_metrics["IoU"] = (area_intersect / area_union).numpy()
        ret_metrics["Acc"] = (area_intersect / area_label).numpy()
        summary = OrderedDict((k, np.round(np.nanmean(v) * 100, 2)) for k, v in ret_metrics.items())
        print_log(f"per class IoU: {np.round(ret_metrics['IoU'] * 100, 2).tolist()}", logger)
        eval_results = {}
        for key, val in summary.items():
            eval_results[key if key == "aAcc" else "m" + key] = float(val / 100.0)  # floats: torch.load(weights_only)
        for key in ("IoU", "Acc"):
            for name, value in zip(self.CLASSES, ret_metrics[key]):
                eval_results[f"{key}.{name}"] = float(np.round(value * 100, 2) / 100.0)
        return eval_results


def build_dataset(cfg, default_args=None):
    return build_from_cfg(cfg, DATASETS, default_args)


def build_dataloader(dataset, samples_per_gpu, workers_per_gpu, num_gpus=1, dist=True, shuffle=True, seed=None,
                     drop_last=False, pin_memory=True, persistent_workers=True, **kwargs):
    rank, world_size = get_dist_info()
    if dist:
        sampler = DistributedSampler(dataset, world_size, rank, shuffle=shuffle, seed=seed or 0)
        shuffle = False
        batch_size, num_workers = samples_per_gpu, workers_per_gpu
    else:
        sampler = None
        batch_size, num_workers = num_gpus * samples_per_gpu, num_gpus * workers_per_gpu
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
                      collate_fn=partial(collate, samples_per_gpu=samples_per_gpu), pin_memory=False,
                      shuffle=shuffle, drop_last=drop_last, persistent_workers=persistent_workers and num_workers > 0,
                      **kwargs)
