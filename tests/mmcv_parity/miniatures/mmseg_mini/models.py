"""mmseg.models: an encoder-decoder with a decode head and an auxiliary head (children of mmcv.cnn.MODELS)."""

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
BACKBONES = HEADS = SEGMENTORS = MODELS


def build_segmentor(cfg, train_cfg=None, test_cfg=None):
    return SEGMENTORS.build(cfg, default_args=dict(train_cfg=train_cfg, test_cfg=test_cfg))


def add_prefix(inputs, prefix):
    return {f"{prefix}.{name}": value for name, value in inputs.items()}


@BACKBONES.register_module()
class TinySegNet(BaseModule):
    def __init__(self, in_channels=3, channels=(8, 16), norm_cfg=None, init_cfg=None):
        super().__init__(init_cfg)
        norm_cfg = dict(type="BN") if norm_cfg is None else norm_cfg
        self.stem = ConvModule(in_channels, channels[0], 3, padding=1, norm_cfg=norm_cfg)
        self.layer1 = ConvModule(channels[0], channels[1], 3, stride=2, padding=1, norm_cfg=norm_cfg)

    def forward(self, x):
        c1 = self.stem(x)
        return [c1, self.layer1(c1)]


@HEADS.register_module()
class TinyFCNHead(BaseModule):
    def __init__(self, in_channels, channels, num_classes, in_index=-1, dropout_ratio=0.1, norm_cfg=None,
                 loss_weight=1.0, ignore_index=255, align_corners=False, init_cfg=None):
        if init_cfg is None:
            init_cfg = dict(type="Normal", std=0.01, override=dict(name="conv_seg"))
        super().__init__(init_cfg)
        norm_cfg = dict(type="BN") if norm_cfg is None else norm_cfg
        self.in_index, self.num_classes = in_index, num_classes
        self.loss_weight, self.ignore_index, self.align_corners = loss_weight, ignore_index, align_corners
        self.convs = ConvModule(in_channels, channels, 3, padding=1, norm_cfg=norm_cfg)
        self.conv_seg = nn.Conv2d(channels, num_classes, kernel_size=1)
        self.dropout = nn.Dropout2d(dropout_ratio) if dropout_ratio > 0 else None
        self.fp16_enabled = False

    @auto_fp16()
    def forward(self, inputs):
        x = self.convs(inputs[self.in_index])
        if self.dropout is not None:
            x = self.dropout(x)
        return self.conv_seg(x)

    def forward_train(self, inputs, img_metas, gt_semantic_seg, train_cfg):
        return self.losses(self(inputs), gt_semantic_seg)

    def forward_test(self, inputs, img_metas, test_cfg):
        return self(inputs)

    @force_fp32(apply_to=("seg_logit",))
    def losses(self, seg_logit, seg_label):
        seg_logit = F.interpolate(seg_logit, size=seg_label.shape[2:], mode="bilinear", align_corners=self.align_corners)
        seg_label = seg_label.squeeze(1)
        loss = dict()
        loss["loss_ce"] = self.loss_weight * F.cross_entropy(seg_logit, seg_label, ignore_index=self.ignore_index)
        valid = seg_label != self.ignore_index
        correct = (seg_logit.argmax(dim=1) == seg_label) & valid
        loss["acc_seg"] = correct.sum().float() * 100.0 / valid.sum()
        return loss


class BaseSegmentor(BaseModule):
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

    @staticmethod
    def _parse_losses(losses):
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

    def train_step(self, data_batch, optimizer, **kwargs):
        losses = self(**data_batch)
        loss, log_vars = self._parse_losses(losses)
        return dict(loss=loss, log_vars=log_vars, num_samples=len(data_batch["img_metas"]))

    def val_step(self, data_batch, optimizer=None, **kwargs):
        losses = self(**data_batch)
        loss, log_vars = self._parse_losses(losses)
        return dict(loss=loss, log_vars=log_vars, num_samples=len(data_batch["img_metas"]))


@SEGMENTORS.register_module()
class EncoderDecoder(BaseSegmentor):
    def __init__(self, backbone, decode_head, auxiliary_head=None, train_cfg=None, test_cfg=None, init_cfg=None):
        super().__init__(init_cfg)
        self.backbone = BACKBONES.build(backbone)
        self.decode_head = HEADS.build(decode_head)
        self.auxiliary_head = HEADS.build(auxiliary_head) if auxiliary_head is not None else None
        self.align_corners = self.decode_head.align_corners
        self.num_classes = self.decode_head.num_classes
        self.train_cfg, self.test_cfg = train_cfg, test_cfg

    def extract_feat(self, img):
        return self.backbone(img)

    def forward_train(self, img, img_metas, gt_semantic_seg):
        x = self.extract_feat(img)
        losses = dict()
        losses.update(add_prefix(self.decode_head.forward_train(x, img_metas, gt_semantic_seg, self.train_cfg), "decode"))
        if self.auxiliary_head is not None:
            losses.update(add_prefix(self.auxiliary_head.forward_train(x, img_metas, gt_semantic_seg, self.train_cfg), "aux"))
        return losses

    def encode_decode(self, img, img_metas):
        out = self.decode_head.forward_test(self.extract_feat(img), img_metas, self.test_cfg)
        return F.interpolate(out, size=img.shape[2:], mode="bilinear", align_corners=self.align_corners)

    def simple_test(self, img, img_meta, rescale=True):
        seg_pred = self.encode_decode(img, img_meta).softmax(dim=1).argmax(dim=1)
        return list(seg_pred.cpu().numpy())
