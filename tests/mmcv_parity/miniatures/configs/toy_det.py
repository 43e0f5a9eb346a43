# a detection config of mmdet 2.x's shape (YOLOX-like custom hooks), for a toy detector
_base_ = ['./_base_/default_runtime.py']
model = dict(type='ToyDetector', num_classes=3, init_cfg=dict(type='Normal', layer='Linear', std=0.1))
dataset_type = 'ToyDetDataset'
data = dict(
    samples_per_gpu=4,
    workers_per_gpu=0,
    train=dict(type=dataset_type, num=24, seed=1),
    val=dict(type=dataset_type, num=8, seed=2),
    test=dict(type=dataset_type, num=8, seed=2))
optimizer = dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4,
                 paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.))
optimizer_config = dict(grad_clip=dict(max_norm=10, norm_type=2))
lr_config = dict(policy='step', warmup='linear', warmup_iters=4, warmup_ratio=0.1, step=[2])
runner = dict(type='EpochBasedRunner', max_epochs=3)
evaluation = dict(interval=1, metric='mAP', save_best='auto')
custom_hooks = [
    dict(type='NumClassCheckHook'),
    dict(type='ExpMomentumEMAHook', momentum=0.01, priority=49),
    dict(type='CheckInvalidLossHook', interval=2, priority='VERY_LOW'),
]
