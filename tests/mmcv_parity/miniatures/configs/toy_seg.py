# a segmentation config of mmseg 0.x's shape (schedule_20k-like, poly lr, iteration-based evaluation)
model = dict(type='ToySegmentor', num_classes=3)
dataset_type = 'ToySegDataset'
data = dict(
    samples_per_gpu=4,
    workers_per_gpu=0,
    train=dict(type=dataset_type, num=16, seed=3),
    val=dict(type=dataset_type, num=6, seed=4),
    test=dict(type=dataset_type, num=6, seed=4),
    # a fixed order: evaluation draws from torch's RNG under mmcv, not under runnerkit (docs/migration.md)
    train_dataloader=dict(shuffle=False))
optimizer = dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4,
                 paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.), 'norm': dict(decay_mult=0.)}))
optimizer_config = dict()
lr_config = dict(policy='poly', power=0.9, min_lr=1e-4, by_epoch=False)
runner = dict(type='IterBasedRunner', max_iters=12)
checkpoint_config = dict(by_epoch=False, interval=6)
evaluation = dict(interval=5, metric='mIoU', pre_eval=True)
log_config = dict(interval=2, hooks=[dict(type='TextLoggerHook', by_epoch=False)])
dist_params = dict(backend='gloo')
log_level = 'INFO'
load_from = None
resume_from = None
workflow = [('train', 1)]
cudnn_benchmark = False
