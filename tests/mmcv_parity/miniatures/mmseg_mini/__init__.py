"""A miniature of mmseg 0.2x (tools/train.py, apis/train.py + test.py, the pre_eval EvalHook, an encoder-decoder).

Written from the public structure of mmseg 0.x, in its style (untyped, mmcv 1.x calls only).
"""

__version__ = "0.24.mini"
