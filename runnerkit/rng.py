"""Running code under forked random number generators, so that it cannot move training.

Evaluation shuffles, augments and samples: drawn from the global generators, those numbers
would shift every random number training draws afterwards, so the final weights would depend on
how often evaluation ran, and a run resumed from a checkpoint saved between two evaluations
would not continue exactly. :func:`forked_rng` gives the code it wraps the current states of
every global generator (Python ``random``, NumPy's legacy global ``np.random``, torch's CPU
generator and, once CUDA is in use, every CUDA device's) and puts them all back afterwards.
``EvalHook``, ``DistEvalHook`` and the runners' non-training workflow phases (``val``) run
under it.

Example:
    >>> import random, torch
    >>> from runnerkit.rng import forked_rng
    >>> _ = torch.manual_seed(0)
    >>> with forked_rng():
    ...     _ = torch.rand(3), random.random()
    >>> a = torch.rand(1)
    >>> _ = torch.manual_seed(0)
    >>> bool(torch.equal(a, torch.rand(1)))
    True
"""

from __future__ import annotations

import contextlib
import random
import sys
from collections.abc import Iterator
from typing import Any

import torch

__all__ = ["forked_rng"]


@contextlib.contextmanager
def forked_rng(enabled: bool = True) -> Iterator[None]:
    """Run the block with copies of the global RNG states, restoring the originals afterwards.

    Args:
        enabled: fork (True) or run the block as it is (False), so that a caller can write
            ``with forked_rng(enabled=mode != "train"):``.

    The block still starts from the very states it would have seen without the fork, so what it
    draws is reproducible (seeded runs evaluate the same way every time). CUDA generators are
    saved only when CUDA has been initialised (nothing is initialised for the fork), NumPy's only
    when NumPy has been imported. The states are restored even when the block raises.
    """
    if not enabled:
        yield
        return
    python_state = random.getstate()
    torch_state = torch.get_rng_state()
    cuda_states = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None
    numpy_state = _numpy_state()
    try:
        yield
    finally:
        random.setstate(python_state)
        torch.set_rng_state(torch_state)
        if cuda_states is not None:
            torch.cuda.set_rng_state_all(cuda_states)
        if numpy_state is not None:
            sys.modules["numpy"].random.set_state(numpy_state)


def _numpy_state() -> Any:
    """NumPy's global RNG state, or None when NumPy has not been imported (nothing drew from it)."""
    numpy = sys.modules.get("numpy")
    if numpy is None:
        return None
    return numpy.random.get_state()
