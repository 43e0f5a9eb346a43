"""mmcv 1.x's ``mmcv.engine``: the test loops the evaluation hooks use."""

from __future__ import annotations

from runnerkit.compat.mmcv.engine.test import collect_results_cpu, collect_results_gpu, multi_gpu_test, single_gpu_test

__all__ = ["collect_results_cpu", "collect_results_gpu", "multi_gpu_test", "single_gpu_test"]
