norm_cfg = dict(type="BN", requires_grad=True)
model = dict(
    type="EncoderDecoder",
    backbone=dict(type="TinySegNet", channels=(8, 16), norm_cfg=norm_cfg),
    decode_head=dict(type="TinyFCNHead", in_channels=16, channels=8, num_classes=3, in_index=1, dropout_ratio=0.1,
                     norm_cfg=norm_cfg),
    auxiliary_head=dict(type="TinyFCNHead", in_channels=8, channels=4, num_classes=3, in_index=0, dropout_ratio=0.1,
                        norm_cfg=norm_cfg, loss_weight=0.4),
    train_cfg=dict(),
    test_cfg=dict(mode="whole"))
dataset_type = "ToySegDataset"
data = dict(
    samples_per_gpu=4,
    workers_per_gpu=0,
    train=dict(type=dataset_type, num_images=10, seed=3),
    val=dict(type=dataset_type, num_images=6, seed=4),
    test=dict(type=dataset_type, num_images=6, seed=4))
