model = dict(
    type="MiniDetector",
    backbone=dict(type="TinyNet", channels=(8, 16), norm_cfg=dict(type="BN", requires_grad=True),
                  init_cfg=dict(type="Kaiming", layer="Conv2d")),
    bbox_head=dict(type="TinyHead", num_classes=3, in_channels=(8, 16)))
dataset_type = "ToyShapesDataset"
data = dict(
    train_dataloader=dict(samples_per_gpu=4, workers_per_gpu=0),
    val_dataloader=dict(samples_per_gpu=1, workers_per_gpu=0),
    train=dict(type=dataset_type, num_images=24, seed=1),
    val=dict(type=dataset_type, num_images=8, seed=2),
    test=dict(type=dataset_type, num_images=8, seed=2))
evaluation = dict(interval=1, metric="mAP", save_best="auto")
