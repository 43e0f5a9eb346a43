optimizer = dict(type="SGD", lr=0.02, momentum=0.9, weight_decay=0.0001)
optimizer_config = dict(grad_clip=None)
lr_config = dict(policy="step", warmup="linear", warmup_iters=4, warmup_ratio=0.1, step=[2])
runner = dict(type="EpochBasedRunner", max_epochs=3)
