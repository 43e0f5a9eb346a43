"""mmcv's ``collect_env``: the platform, Python, CUDA, compiler, PyTorch and mmcv versions of this machine."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import OrderedDict

__all__ = ["collect_env"]


def _run(cmd: list[str]) -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.decode("utf-8", "replace").strip() if out.returncode == 0 else None


def collect_env() -> OrderedDict[str, str]:
    """The keys mmcv reports (``sys.platform``, ``Python``, ``CUDA available``, ``GPU i,j``, ``CUDA_HOME``,
    ``NVCC``, ``GCC``, ``PyTorch``, ``PyTorch compiling details``, ``TorchVision``, ``OpenCV``, ``MMCV``,
    ``MMCV Compiler``, ``MMCV CUDA Compiler``); a library that is not installed is left out.
    """
    import torch

    from runnerkit import __version__ as runnerkit_version

    env: OrderedDict[str, str] = OrderedDict()
    env["sys.platform"] = sys.platform
    env["Python"] = sys.version.replace("\n", "")
    cuda = torch.cuda.is_available()
    env["CUDA available"] = str(cuda)
    if cuda:
        devices: dict[str, list[str]] = {}
        for k in range(torch.cuda.device_count()):
            devices.setdefault(torch.cuda.get_device_name(k), []).append(str(k))
        for name, ids in devices.items():
            env["GPU " + ",".join(ids)] = name
        from torch.utils.cpp_extension import CUDA_HOME

        env["CUDA_HOME"] = str(CUDA_HOME)
        if CUDA_HOME is not None and os.path.isdir(CUDA_HOME):
            nvcc = _run([os.path.join(CUDA_HOME, "bin", "nvcc"), "-V"])
            env["NVCC"] = nvcc.rsplit("\n", 1)[-1] if nvcc else "Not Available"
    gcc = _run(["gcc", "--version"])
    env["GCC"] = gcc.split("\n", 1)[0] if gcc else "n/a"
    env["PyTorch"] = torch.__version__
    env["PyTorch compiling details"] = torch.__config__.show()
    for label, module in (("TorchVision", "torchvision"), ("OpenCV", "cv2")):
        try:
            env[label] = __import__(module).__version__
        except Exception:
            continue
    env["MMCV"] = f"1.7.2 (runnerkit {runnerkit_version} mmcv layer)"
    env["MMCV Compiler"] = "n/a"
    env["MMCV CUDA Compiler"] = "n/a"
    return env
