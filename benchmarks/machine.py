"""One line that says where a benchmark ran: CPU model and cores, GPU, Python, torch, threads."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess

import torch

__all__ = ["describe", "device_slug"]


def _lscpu() -> dict[str, str]:
    if shutil.which("lscpu") is None:
        return {}
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True, env={**os.environ, "LC_ALL": "C"}).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines()) if v}


def describe(device: str, threads: int) -> str:
    """CPU model and cores (lscpu), the GPU for a CUDA device, Python, torch and torch threads."""
    info = _lscpu()
    cpu = info.get("Model name") or platform.processor() or platform.machine()
    cores = info.get("CPU(s)") or str(os.cpu_count())
    per_core = info.get("Thread(s) per core")
    hypervisor = info.get("Hypervisor vendor")
    parts = [f"{cpu}, {cores} CPUs" + (f" ({per_core} thread(s) per core)" if per_core else "")
             + (f", {hypervisor} VM" if hypervisor else "")]
    if device.startswith("cuda"):
        props = torch.cuda.get_device_properties(torch.device(device))
        parts.append(f"GPU {props.name} ({props.total_memory / 2**30:.0f} GiB), CUDA {torch.version.cuda}")
    parts.append(f"Python {platform.python_version()}, torch {torch.__version__}, {threads} torch thread(s)")
    parts.append(platform.platform())
    return "; ".join(parts)


def device_slug(device: str) -> str:
    """``cpu``, or the GPU's name in lower case with dashes (``nvidia-h100-80gb-hbm3``)."""
    if not device.startswith("cuda"):
        return "cpu"
    return re.sub(r"[^a-z0-9]+", "-", torch.cuda.get_device_name(torch.device(device)).lower()).strip("-")
