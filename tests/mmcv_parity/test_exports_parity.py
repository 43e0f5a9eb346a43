"""The layer exports every name of mmcv 1.7.2's ``mmcv.runner``, ``mmcv.parallel`` and ``mmcv.fileio``
(the lists below were read from mmcv 1.7.2's ``__all__`` once)."""

from __future__ import annotations

import pytest

MMCV_ALL = {
    "mmcv.runner": [
        "BaseModule", "BaseRunner", "CheckpointHook", "CheckpointLoader", "ClearMLLoggerHook", "ClosureHook",
        "CosineAnnealingLrUpdaterHook", "CosineAnnealingMomentumUpdaterHook", "CosineRestartLrUpdaterHook",
        "CyclicLrUpdaterHook", "CyclicMomentumUpdaterHook", "DefaultOptimizerConstructor",
        "DefaultRunnerConstructor", "DistEvalHook", "DistSamplerSeedHook", "DvcliveLoggerHook", "EMAHook",
        "EpochBasedRunner", "EvalHook", "ExpLrUpdaterHook", "FixedLrUpdaterHook",
        "FlatCosineAnnealingLrUpdaterHook", "Fp16OptimizerHook", "GradientCumulativeFp16OptimizerHook",
        "GradientCumulativeOptimizerHook", "HOOKS", "Hook", "InvLrUpdaterHook", "IterBasedRunner", "IterLoader",
        "IterTimerHook", "LinearAnnealingLrUpdaterHook", "LinearAnnealingMomentumUpdaterHook", "LogBuffer",
        "LoggerHook", "LossScaler", "LrUpdaterHook", "MlflowLoggerHook", "ModuleDict", "ModuleList",
        "MomentumUpdaterHook", "NeptuneLoggerHook", "OPTIMIZERS", "OPTIMIZER_BUILDERS", "OneCycleLrUpdaterHook",
        "OneCycleMomentumUpdaterHook", "OptimizerHook", "PaviLoggerHook", "PolyLrUpdaterHook", "Priority",
        "RUNNERS", "Runner", "SegmindLoggerHook", "Sequential", "StepLrUpdaterHook", "StepMomentumUpdaterHook",
        "SyncBuffersHook", "TensorboardLoggerHook", "TextLoggerHook", "WandbLoggerHook", "_load_checkpoint",
        "_load_checkpoint_with_prefix", "allreduce_grads", "allreduce_params", "auto_fp16", "build_optimizer",
        "build_optimizer_constructor", "build_runner", "force_fp32", "get_dist_info", "get_host_info",
        "get_priority", "get_time_str", "init_dist", "load_checkpoint", "load_state_dict", "master_only",
        "obj_from_dict", "save_checkpoint", "set_random_seed", "weights_to_cpu", "wrap_fp16_model",
    ],
    "mmcv.parallel": [
        "DataContainer", "MMDataParallel", "MMDistributedDataParallel", "MODULE_WRAPPERS", "collate",
        "is_module_wrapper", "scatter", "scatter_kwargs",
    ],
    "mmcv.fileio": [
        "BaseFileHandler", "BaseStorageBackend", "FileClient", "JsonHandler", "PickleHandler", "YamlHandler",
        "dict_from_file", "dump", "list_from_file", "load", "register_handler",
    ],
}


@pytest.mark.parametrize("module", sorted(MMCV_ALL))
def test_every_name_mmcv_exports_is_exported(module: str) -> None:
    imported = __import__(module, fromlist=["__all__"])
    assert len(MMCV_ALL["mmcv.runner"]) == 82
    assert sorted(set(MMCV_ALL[module]) - set(imported.__all__)) == []
    assert [name for name in MMCV_ALL[module] if not hasattr(imported, name)] == []


def test_top_level_mmcv_reexports_utils_and_fileio() -> None:
    import mmcv
    import mmcv.fileio
    import mmcv.utils

    for module in (mmcv.utils, mmcv.fileio):
        assert [n for n in module.__all__ if getattr(mmcv, n, None) is not getattr(module, n)] == []
    assert mmcv.Config is mmcv.utils.Config and mmcv.dump is mmcv.fileio.dump
