"""mmdet.models: registries (children of mmcv.cnn.MODELS), a two-conv backbone, a two-level head, a one-stage detector."""

from collections import OrderedDict

import torch
import torch.distributed as dist
import torch.nn.functional as F
from mmcv.cnn import MODELS as MMCV_MODELS
from mmcv.cnn import ConvModule
from mmcv.runner import BaseModule, auto_fp16, force_fp32
from mmcv.utils import Registry
from torch import nn

MODELS = Registry("models", parent=MMCV_MODELS)
BACKBONES = MODELS
HEADS = MODELS
DETECTORS = MODELS


def build_detector(cfg, train_cfg=None, test_cfg=None):
    return DETECTORS.build(cfg, default_args=dict(train_cfg=train_cfg, test_cfg=test_cfg))


@BACKBONES.register_module()
class TinyNet(BaseModule):
    def __init__(self, in_channels=3, channels=(8, 16), norm_cfg=None, init_cfg=None):
        super().__init__(init_cfg)
        norm_cfg = dict(type="BN") if norm_cfg is None else norm_cfg
        self.stem = ConvModule(in_channels, channels[0], 3, padding=1, norm_cfg=norm_cfg)
        self.layer1 = ConvModule(channels[0], channels[1], 3, stride=2, padding=1, norm_cfg=norm_cfg)

    def forward(self, x):
        c1 = self.stem(x)
        return (c1, self.layer1(c1))


@HEADS.register_module()
class TinyHead(BaseModule):
    """Per level: a class score and a box (x1, y1, x2, y2 in [0, 1]) from pooled features."""

    def __init__(self, num_classes, in_channels=(8, 16), init_cfg=None):
        if init_cfg is None:
            init_cfg = dict(type="Normal", layer="Linear", std=0.01, override=dict(name="fc_reg", type="Normal", std=0.1))
        super().__init__(init_cfg)
        self.num_classes = num_classes
        self.fc_cls = nn.ModuleList(nn.Linear(c, num_classes) for c in in_channels)
        self.fc_reg = nn.ModuleList(nn.Linear(c, 4) for c in in_channels)
        self.fp16_enabled = False

    def forward(self, feats):
        pooled = [f.mean(dim=(2, 3)) for f in feats]
        return ([cls(p) for cls, p in zip(self.fc_cls, pooled)],
                [reg(p).sigmoid() for reg, p in zip(self.fc_reg, pooled)])

    @force_fp32(apply_to=("cls_scores", "bbox_preds"))
    def loss(self, cls_scores, bbox_preds, gt_bboxes, gt_labels):
        labels = torch.cat(gt_labels)
        boxes = torch.cat(gt_bboxes)
        return dict(loss_cls=[F.cross_entropy(s, labels) for s in cls_scores],
                    loss_bbox=[F.l1_loss(b, boxes) for b in bbox_preds])

    def simple_test(self, feats):
        cls_scores, bbox_preds = self(feats)
        scores = sum(s.float().softmax(dim=1) for s in cls_scores) / len(cls_scores)
        boxes = sum(b.float() for b in bbox_preds) / len(bbox_preds)
        return [(s.cpu().numpy(), b.cpu().numpy()) for s, b in zip(scores, boxes)]


class BaseDetector(BaseModule):
    def __init__(self, init_cfg=None):
        super().__init__(init_cfg)
        self.fp16_enabled = False

    @auto_fp16(apply_to=("img",))
    def forward(self, img, img_metas, return_loss=True, **kwargs):
        if return_loss:
            return self.forward_train(img, img_metas, **kwargs)
        return self.forward_test(img, img_metas, **kwargs)

    def forward_test(self, imgs, img_metas, **kwargs):
        assert len(imgs) == 1, "one augmentation in the miniature"
        return self.simple_test(imgs[0], img_metas[0], **kwargs)

    def _parse_losses(self, losses):
        log_vars = OrderedDict()
        for loss_name, loss_value in losses.items():
            if isinstance(loss_value, torch.Tensor):
                log_vars[loss_name] = loss_value.mean()
            elif isinstance(loss_value, list):
                log_vars[loss_name] = sum(_loss.mean() for _loss in loss_value)
            else:
                raise TypeError(f"{loss_name} is not a tensor or list of tensors")
        loss = sum(_value for _key, _value in log_vars.items() if "loss" in _key)
        log_vars["loss"] = loss
        for loss_name, loss_value in log_vars.items():
            if dist.is_available() and dist.is_initialized():
                loss_value = loss_value.data.clone()
                dist.all_reduce(loss_value.div_(dist.get_world_size()))
            log_vars[loss_name] = loss_value.item()
        return loss, log_vars

    def train_step(self, data, optimizer):
        losses = self(**data)
        loss, log_vars = self._parse_losses(losses)
        return dict(loss=loss, log_vars=log_vars, num_samples=len(data["img_metas"]))

    def val_step(self, data, optimizer=None):
        losses = self(**data)
        loss, log_vars = self._parse_losses(losses)
        return dict(loss=loss, log_vars=log_vars, num_samples=len(data["img_metas"]))


@DETECTORS.register_module()
class MiniDetector(BaseDetector):
    def __init__(self, backbone, bbox_head, train_cfg=None, test_cfg=None, init_cfg=None):
        super().__init__(init_cfg)
        self.backbone = BACKBONES.build(backbone)
        self.bbox_head = HEADS.build(bbox_head)
        self.train_cfg, self.test_cfg = train_cfg, test_cfg

    def extract_feat(self, img):
        return self.backbone(img)

    def forward_train(self, img, img_metas, gt_bboxes, gt_labels):
        cls_scores, bbox_preds = self.bbox_head(self.extract_feat(img))
        return self.bbox_head.loss(cls_scores, bbox_preds, gt_bboxes, gt_labels)

    def simple_test(self, img, img_metas, rescale=False):
        return self.bbox_head.simple_test(self.extract_feat(img))
