# A config with the mistakes people make; `runnerkit validate docs/examples/broken.py` finds them all.
model = dict(type="DemoModel", hiden=32)
data = dict(
    sample_per_gpu=64,
    train=dict(type="DemoDataset"),
)
optimizer = dict(type="SDG", lr=0.1)
lr_config = dict(policy="cosine", min_lr=0)
runner = dict(type="IterBasedRunner", max_iters=1000, max_epochs=10)
custom_hooks = [dict(type="EMAHok")]
