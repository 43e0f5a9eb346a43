# As mmseg 0.x's configs: poly lr by iteration, pre_eval mIoU, custom_keys (head lr x10, no decay on norms).
_base_ = ["./_base_/mini_fcn.py", "./_base_/default_runtime.py", "./_base_/schedule_poly.py"]

optimizer = dict(lr=0.02, paramwise_cfg=dict(custom_keys={"decode_head": dict(lr_mult=10.0),
                                                          "norm": dict(decay_mult=0.0)}))
evaluation = dict(save_best="mIoU")
