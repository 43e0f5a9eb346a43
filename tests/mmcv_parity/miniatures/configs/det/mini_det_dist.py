# For the 2-process job: the miniature without the EMA hook, whose buffers mmdet re-creates from the
# checkpoint's (swapped-in) averaged weights on resume; without it a resumed epoch equals the uninterrupted one.
_base_ = "./mini_det.py"

custom_hooks = [dict(type="NumClassCheckHook"), dict(type="CheckInvalidLossHook", interval=1, priority="VERY_LOW")]
runner = dict(max_epochs=2)
