# As YOLOX's configs of mmdet 2.x: EMA at priority 49, check hooks with priorities, paramwise_cfg.
_base_ = ["./_base_/mini_det.py", "./_base_/schedule_1x.py", "./_base_/default_runtime.py"]

model = dict(bbox_head=dict(num_classes={{_base_.model.bbox_head.num_classes}}))
optimizer = dict(lr=0.03, paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
optimizer_config = dict(_delete_=True, grad_clip=dict(max_norm=10, norm_type=2))
custom_hooks = [
    dict(type="NumClassCheckHook"),
    dict(type="CheckInvalidLossHook", interval=1, priority="VERY_LOW"),
    dict(type="ExpMomentumEMAHook", resume_from=None, momentum=0.01, total_iter=50, priority=49),
]
