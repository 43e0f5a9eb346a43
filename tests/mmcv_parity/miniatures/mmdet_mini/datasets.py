"""mmdet.datasets: a registry, a synthetic detection dataset returning DataContainers, samplers, build_dataloader."""

import math
from functools import partial

import numpy as np
import torch
from mmcv.parallel import DataContainer as DC
from mmcv.parallel import collate
from mmcv.runner import get_dist_info
from mmcv.utils import Registry, build_from_cfg
from torch.utils.data import DataLoader, Dataset, Sampler

DATASETS = Registry("dataset")


@DATASETS.register_module()
class ToyShapesDataset(Dataset):
    """Images with one coloured square each; the class is the colour, the box the square."""

    CLASSES = ("red", "green", "blue")

    def __init__(self, num_images, seed, img_size=16, test_mode=False):
        self.test_mode = test_mode
        g = torch.Generator().manual_seed(seed)
        self.imgs = 0.1 * torch.randn(num_images, 3, img_size, img_size, generator=g)
        self.labels = torch.randint(0, 3, (num_images,), generator=g)
        self.bboxes = torch.zeros(num_images, 4)
        for i in range(num_images):
            side = int(torch.randint(4, 9, (1,), generator=g))
            x, y = (int(v) for v in torch.randint(0, img_size - side, (2,), generator=g))
            self.imgs[i, int(self.labels[i]), y:y + side, x:x + side] += 1.0
            self.bboxes[i] = torch.tensor([x, y, x + side, y + side], dtype=torch.float32) / img_size
        # aspect-ratio groups, as mmdet's: GroupSampler shuffles within them
        self.flag = np.array([i % 2 for i in range(num_images)], dtype=np.uint8)

    def __len__(self):
        return len(self.imgs)

    def __getitem__(self, idx):
        img_metas = dict(idx=idx, ori_shape=tuple(self.imgs[idx].shape[1:]), flip=False)
        if self.test_mode:  # the test pipeline's layout: lists (one entry per augmentation)
            return dict(img=[self.imgs[idx]], img_metas=[DC(img_metas, cpu_only=True)])
        return dict(img=DC(self.imgs[idx], stack=True), img_metas=DC(img_metas, cpu_only=True),
                    gt_bboxes=DC(self.bboxes[idx:idx + 1]), gt_labels=DC(self.labels[idx:idx + 1]))

    def evaluate(self, results, metric="mAP", logger=None, **kwargs):
        scores = torch.stack([torch.as_tensor(r[0]) for r in results])
        boxes = torch.stack([torch.as_tensor(r[1]) for r in results])
        true = scores[torch.arange(len(results)), self.labels[:len(results)]]
        lt = torch.maximum(boxes[:, :2], self.bboxes[:, :2])
        rb = torch.minimum(boxes[:, 2:], self.bboxes[:, 2:])
        inter = (rb - lt).clamp(min=0).prod(dim=1)
        area = (boxes[:, 2:] - boxes[:, :2]).clamp(min=0).prod(dim=1) + (self.bboxes[:, 2:] - self.bboxes[:, :2]).prod(dim=1)
        iou = inter / (area - inter)
        return dict(mAP=float(true.mean()), AP50=float((iou > 0.5).float().mean()), mIoU=float(iou.mean()))


def build_dataset(cfg, default_args=None):
    return build_from_cfg(cfg, DATASETS, default_args)


class GroupSampler(Sampler):
    """Shuffles within the dataset's flag groups (numpy's global RNG), padding each group to whole batches."""

    def __init__(self, dataset, samples_per_gpu=1):
        self.dataset = dataset
        self.samples_per_gpu = samples_per_gpu
        self.flag = dataset.flag.astype(np.int64)
        self.group_sizes = np.bincount(self.flag)
        self.num_samples = sum(math.ceil(size / samples_per_gpu) * samples_per_gpu for size in self.group_sizes)

    def __iter__(self):
        indices = []
        for i, size in enumerate(self.group_sizes):
            if size == 0:
                continue
            indice = np.where(self.flag == i)[0]
            np.random.shuffle(indice)
            num_extra = math.ceil(size / self.samples_per_gpu) * self.samples_per_gpu - len(indice)
            indices.append(np.concatenate([indice, np.random.choice(indice, num_extra)]))
        indices = np.concatenate(indices)
        batches = [indices[i:i + self.samples_per_gpu] for i in range(0, len(indices), self.samples_per_gpu)]
        order = np.random.permutation(len(batches))
        return iter([int(i) for b in order for i in batches[b]])

    def __len__(self):
        return self.num_samples


class DistributedGroupSampler(Sampler):
    """The group sampler for one rank: shuffled by a generator seeded with seed + epoch (``set_epoch``)."""

    def __init__(self, dataset, samples_per_gpu=1, num_replicas=None, rank=None, seed=0):
        _rank, _num_replicas = get_dist_info()
        self.num_replicas = _num_replicas if num_replicas is None else num_replicas
        self.rank = _rank if rank is None else rank
        self.dataset = dataset
        self.samples_per_gpu = samples_per_gpu
        self.epoch = 0
        self.seed = seed if seed is not None else 0
        self.flag = dataset.flag.astype(np.int64)
        self.group_sizes = np.bincount(self.flag)
        per = samples_per_gpu * self.num_replicas
        self.num_samples = sum(math.ceil(size / per) * samples_per_gpu for size in self.group_sizes)
        self.total_size = self.num_samples * self.num_replicas

    def __iter__(self):
        g = torch.Generator()
        g.manual_seed(self.epoch + self.seed)
        indices = []
        per = self.samples_per_gpu * self.num_replicas
        for i, size in enumerate(self.group_sizes):
            if size == 0:
                continue
            indice = np.where(self.flag == i)[0]
            indice = indice[list(torch.randperm(int(size), generator=g).numpy())].tolist()
            extra = math.ceil(size / per) * per - len(indice)
            indice += (indice * (extra // len(indice) + 1))[:extra]
            indices += indice
        batches = [indices[i:i + self.samples_per_gpu] for i in range(0, len(indices), self.samples_per_gpu)]
        order = torch.randperm(len(batches), generator=g).tolist()
        indices = [i for b in order for i in batches[b]]
        offset = self.num_samples * self.rank
        return iter(indices[offset:offset + self.num_samples])

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        self.epoch = epoch


def build_dataloader(dataset, samples_per_gpu, workers_per_gpu, num_gpus=1, dist=True, shuffle=True, seed=None,
                     runner_type="EpochBasedRunner", persistent_workers=False, **kwargs):
    rank, world_size = get_dist_info()
    if dist:
        if shuffle:
            sampler = DistributedGroupSampler(dataset, samples_per_gpu, world_size, rank, seed=seed)
        else:
            sampler = torch.utils.data.DistributedSampler(dataset, world_size, rank, shuffle=False, seed=seed)
        batch_size, num_workers = samples_per_gpu, workers_per_gpu
    else:
        sampler = GroupSampler(dataset, samples_per_gpu) if shuffle else None
        batch_size, num_workers = num_gpus * samples_per_gpu, num_gpus * workers_per_gpu
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
                      collate_fn=partial(collate, samples_per_gpu=samples_per_gpu), pin_memory=False, **kwargs)
