"""A training script shaped like mmdet 2.x's tools/train.py + mmdet/apis/train.py, written against mmcv 1.x.

It imports only ``mmcv`` (never runnerkit): the test runs it after ``runnerkit.compat.mmcv.install()``.
Usage: python train_mmdet2_style.py WORK_DIR PRETRAINED_CKPT
"""

import logging
import os.path as osp
import sys
import time

import mmcv
import torch
from mmcv.engine import single_gpu_test
from mmcv.parallel import MMDataParallel
from mmcv.runner import (
    HOOKS,
    DistSamplerSeedHook,
    EvalHook,
    Fp16OptimizerHook,
    Hook,
    OptimizerHook,
    auto_fp16,
    build_optimizer,
    build_runner,
    force_fp32,
    get_dist_info,
    load_checkpoint,
    save_checkpoint,
    wrap_fp16_model,
)
from mmcv.runner.utils import set_random_seed
from torch import nn
from torch.utils.data import DataLoader, Dataset

CLASSES = ("cat", "dog", "bird")


class ToyDataset(Dataset):
    CLASSES = CLASSES

    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.imgs = torch.randn(n, 8, generator=g)
        self.labels = self.imgs[:, :3].argmax(dim=1)

    def __len__(self):
        return len(self.imgs)

    def __getitem__(self, i):
        return dict(img=self.imgs[i], gt_labels=self.labels[i], img_metas=dict(idx=i))

    def evaluate(self, results, metric="mAP", logger=None, **kwargs):
        correct = sum(int(r == int(self.labels[i])) for i, r in enumerate(results))
        if logger is not None:
            logger.info("evaluated %d samples", len(results))
        return {metric: correct / len(results), "num_results": float(len(results))}


class ToyDetector(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.backbone = nn.Linear(8, 16)
        self.head = nn.Linear(16, num_classes)
        self.num_classes = num_classes
        self.fp16_enabled = False

    @auto_fp16(apply_to=("img",))
    def forward(self, img, img_metas, return_loss=True, **kwargs):
        if return_loss:
            return self.forward_train(img, img_metas, **kwargs)
        return self.forward_test(img, img_metas)

    def forward_train(self, img, img_metas, gt_labels):
        logits = self.head(torch.relu(self.backbone(img)))
        return self.loss(logits, gt_labels)

    @force_fp32(apply_to=("logits",))
    def loss(self, logits, gt_labels):
        assert logits.dtype == torch.float32
        return dict(loss_cls=nn.functional.cross_entropy(logits, gt_labels))

    def forward_test(self, img, img_metas):
        logits = self.head(torch.relu(self.backbone(img)))
        return [int(i) for i in logits.argmax(dim=1)]  # one result per image

    @staticmethod
    def _parse_losses(losses):
        log_vars = {name: value.mean() for name, value in losses.items()}
        loss = sum(v for k, v in log_vars.items() if "loss" in k)
        log_vars["loss"] = loss
        return loss, {k: v.item() for k, v in log_vars.items()}

    def train_step(self, data, optimizer):
        losses = self(**data)
        loss, log_vars = self._parse_losses(losses)
        return dict(loss=loss, log_vars=log_vars, num_samples=len(data["img"]))

    def val_step(self, data, optimizer=None):
        return self.train_step(data, optimizer)


@HOOKS.register_module()
class NumClassCheckHook(Hook):
    """As mmdet's: the head's class count must match the dataset's CLASSES."""

    def __init__(self, record):
        self.record = record

    def before_train_epoch(self, runner):
        model = runner.model.module if hasattr(runner.model, "module") else runner.model
        dataset = runner.data_loader.dataset
        assert model.num_classes == len(dataset.CLASSES)
        with open(self.record, "a") as fh:
            fh.write(f"epoch {runner.epoch}\n")


class DetEvalHook(EvalHook):
    """As mmdet 2.x's EvalHook: its own _do_evaluate with the mmcv test loop."""

    def _do_evaluate(self, runner):
        if not self._should_evaluate(runner):
            return
        results = single_gpu_test(runner.model, self.dataloader)
        runner.log_buffer.output["eval_iter_num"] = len(self.dataloader)
        key_score = self.evaluate(runner, results)
        if self.save_best:
            self._save_ckpt(runner, key_score)


def main(work_dir, pretrained):
    cuda = torch.cuda.is_available()
    cfg = dict(
        optimizer=dict(type="SGD", lr=0.05, momentum=0.9, weight_decay=0.0001),
        optimizer_config=dict(grad_clip=dict(max_norm=35, norm_type=2)),
        lr_config=dict(policy="step", warmup="linear", warmup_iters=4, warmup_ratio=0.1, step=[2]),
        runner=dict(type="EpochBasedRunner", max_epochs=3),
        checkpoint_config=dict(interval=1),
        log_config=dict(interval=2, hooks=[dict(type="TextLoggerHook")]),
        custom_hooks=[dict(type="NumClassCheckHook", record=osp.join(work_dir, "hook_calls.txt"))],
        evaluation=dict(interval=1, metric="mAP", save_best="auto"),
        workflow=[("train", 1)],
        load_from=pretrained,
        fp16=dict(loss_scale=512.0) if cuda else None,
        work_dir=work_dir,
        seed=0,
    )
    mmcv.mkdir_or_exist(osp.abspath(cfg["work_dir"]))
    timestamp = time.strftime("%Y%m%d_%H%M%S", time.localtime())
    logger = logging.getLogger("mmdet")
    logger.addHandler(logging.FileHandler(osp.join(work_dir, f"{timestamp}.log")))
    logger.setLevel(logging.INFO)
    set_random_seed(cfg["seed"], deterministic=False)
    meta = dict(seed=cfg["seed"], exp_name="toy_det.py")

    datasets = [ToyDataset(24, seed=1)]
    model = ToyDetector(num_classes=len(CLASSES))
    model.CLASSES = datasets[0].CLASSES
    load_checkpoint(model, cfg["load_from"], map_location="cpu")  # a DataParallel-era file: `module.` keys
    assert torch.equal(model.backbone.bias, torch.full((16,), 0.5))

    if cfg["fp16"] is not None:
        wrap_fp16_model(model)
    data_loaders = [DataLoader(ds, batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(0)) for ds in datasets]
    model = MMDataParallel(model.cuda(0), device_ids=[0]) if cuda else MMDataParallel(model, device_ids=[-1])
    optimizer = build_optimizer(model, cfg["optimizer"])
    runner = build_runner(cfg["runner"], default_args=dict(model=model, optimizer=optimizer, work_dir=cfg["work_dir"],
                                                           logger=logger, meta=meta))
    runner.timestamp = timestamp

    rank, world_size = get_dist_info()
    if cfg["fp16"] is not None:
        optimizer_config = Fp16OptimizerHook(**cfg["optimizer_config"], **cfg["fp16"], distributed=world_size > 1)
    else:
        optimizer_config = cfg["optimizer_config"]
    runner.register_training_hooks(cfg["lr_config"], optimizer_config, cfg["checkpoint_config"], cfg["log_config"],
                                   cfg.get("momentum_config"), custom_hooks_config=cfg.get("custom_hooks"))
    if world_size > 1:
        runner.register_hook(DistSamplerSeedHook())
    assert any(isinstance(h, (OptimizerHook, Fp16OptimizerHook)) for h in runner.hooks)

    val_dataloader = DataLoader(ToyDataset(10, seed=2), batch_size=3, shuffle=False)
    eval_cfg = dict(cfg["evaluation"])
    eval_cfg["by_epoch"] = cfg["runner"]["type"] != "IterBasedRunner"
    runner.register_hook(DetEvalHook(val_dataloader, **eval_cfg), priority="LOW")

    runner.run(data_loaders, cfg["workflow"])

    best = runner.meta["hook_msgs"]["best_ckpt"]
    print("BEST", osp.basename(best), runner.meta["hook_msgs"]["best_score"])
    out = osp.join(work_dir, "final_by_save_checkpoint.pth")
    save_checkpoint(runner.model, out, optimizer=optimizer, meta=dict(epoch=runner.epoch))
    print("DONE", runner.epoch, runner.iter, rank)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
