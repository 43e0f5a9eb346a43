"""``seed_everything``: one call that seeds every random number generator a training run uses."""

from __future__ import annotations

import contextlib
import os
import random
import sys

__all__ = ["seed_everything"]


def seed_everything(seed: int, deterministic: bool = False) -> int:
    """Seed Python's ``random``, NumPy (when installed), torch and every CUDA device.

    ``runnerkit run`` calls it with the config's ``seed`` (and ``deterministic``) before anything
    is built, so the same config trains the same weights.

    Args:
        seed: the seed (an int; NumPy gets it modulo 2**32).
        deterministic: also make torch use deterministic algorithms
            (``torch.use_deterministic_algorithms(True)``, cuDNN deterministic and not
            benchmarking, ``CUBLAS_WORKSPACE_CONFIG`` set when it is not). Slower on a GPU; an
            operation without a deterministic implementation then raises. ``False`` changes none
            of these settings.

    Returns:
        The seed.

    Raises:
        TypeError: ``seed`` is not an int (or is a bool).

    Example:
        >>> import random, runnerkit
        >>> _ = runnerkit.seed_everything(7)
        >>> a = random.random()
        >>> _ = runnerkit.seed_everything(7)
        >>> a == random.random()
        True
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"`seed` must be an int, got {type(seed).__name__} `{seed!r}`.")
    if not isinstance(deterministic, bool):
        raise TypeError(f"`deterministic` must be True or False, got `{deterministic!r}`.")
    import torch

    random.seed(seed)
    numpy = sys.modules.get("numpy")
    if numpy is None:
        with contextlib.suppress(ImportError):
            import numpy
    if numpy is not None:
        numpy.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        # cuBLAS needs a fixed workspace to be deterministic (CUDA >= 10.2); set before the first cuBLAS call
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    return seed
