# The config `runnerkit demo` trains, as a file: `runnerkit run docs/examples/demo.py`.
# A .py config is executed to read it; its module-level variables are the config.
# Its own work dir: `runnerkit demo` trains into work_dirs/demo, and one work dir holds one run.
work_dir = "work_dirs/demo_config"
seed = 0
num_threads = 1  # a tiny model: one thread is fastest

model = dict(type="DemoModel", in_features=2, hidden=64, num_classes=3)
data = dict(
    samples_per_gpu=64,
    workers_per_gpu=0,
    train=dict(type="DemoDataset", num_samples=2048, seed=0),
    val=dict(type="DemoDataset", num_samples=512, seed=1),
)
optimizer = dict(type="SGD", lr=0.2, momentum=0.9, weight_decay=1e-4)
optimizer_config = dict(grad_clip=None)
lr_config = dict(policy="step", step=[400, 500], gamma=0.2, warmup="linear", warmup_iters=50, warmup_ratio=0.1)
checkpoint_config = dict(interval=200, max_keep_ckpts=3)
log_config = dict(interval=20, hooks=[dict(type="TextLoggerHook")])
custom_hooks = [dict(type="ProgressBarHook")]
evaluation = dict(interval=100)
runner = dict(type="IterBasedRunner", max_iters=600)
workflow = [("train", 1)]
