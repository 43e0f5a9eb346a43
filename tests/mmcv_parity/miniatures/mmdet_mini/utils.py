"""mmdet.utils: the root logger and checkpoint finding, as mmdet 2.x's."""

import glob
import os.path as osp

from mmcv.utils import get_logger


def get_root_logger(log_file=None, log_level="INFO"):
    return get_logger(name="mmdet", log_file=log_file, log_level=log_level)


def find_latest_checkpoint(path, suffix="pth"):
    if not osp.exists(path):
        return None
    if osp.exists(osp.join(path, f"latest.{suffix}")):
        return osp.join(path, f"latest.{suffix}")
    latest, latest_path = -1, None
    for checkpoint in glob.glob(osp.join(path, f"*.{suffix}")):
        count = int(osp.basename(checkpoint).split("_")[-1].split(".")[0])
        if count > latest:
            latest, latest_path = count, checkpoint
    return latest_path
