"""A miniature of mmdet 2.25 (tools/train.py, apis/train.py, core hooks, datasets, a one-stage detector).

Written from the public structure of mmdet 2.x, in its style (untyped, mmcv 1.x calls only).
"""

__version__ = "2.25.mini"
