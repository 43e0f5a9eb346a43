"""mmcv 1.x's ``DistSamplerSeedHook`` (runnerkit's)."""

from __future__ import annotations

from runnerkit.hooks.sampler_seed import DistSamplerSeedHook

__all__ = [
    "DistSamplerSeedHook",
]
