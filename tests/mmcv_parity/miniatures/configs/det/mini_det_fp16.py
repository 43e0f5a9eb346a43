# As mmdet 2.x's fp16 configs: Fp16OptimizerHook with a dict loss scale.
_base_ = "./mini_det.py"

fp16 = dict(loss_scale=dict(init_scale=512.0))
