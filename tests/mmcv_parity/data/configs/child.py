_base_ = ['./base_model.py', './base_data.py', './base_schedule.yaml']
model = dict(
    backbone=dict(depth=101),
    decode_head=dict(num_classes=150, loss_decode=dict(_delete_=True, type='FocalLoss', gamma=2.0)),
    auxiliary_head=dict(type='FCNHead', num_classes={{_base_.model.decode_head.num_classes}}))
optimizer = dict(lr=0.02, paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=10.0)}))
lr_config = dict(_delete_=True, policy='step', step=[8, 11])
crop = {{ _base_.crop_size }}
norm = {{_base_.norm_cfg}}
pipelines = [{{_base_.train_pipeline}}, 'x']
work_dir = './work_dirs/child'
