log_config = dict(interval=2, hooks=[dict(type="TextLoggerHook", by_epoch=False)])
dist_params = dict(backend="gloo")
log_level = "INFO"
load_from = None
resume_from = None
workflow = [("train", 1)]
cudnn_benchmark = False
