"""Record real mmcv 1.7.2's parameter groups for ``optim_cases.CASES`` into ``optimizer_groups.json``.

Run once with an environment holding mmcv 1.7.2 (``benchmarks/install_mmcv.sh``)::

    /work/mmcv-venv/bin/python tests/mmcv_parity/data/make_optimizer_groups.py

``mmcv.runner`` imports torchvision only to list model-zoo URLs; where it cannot be imported a
placeholder module stands in (nothing here uses it).
"""

from __future__ import annotations

import copy
import json
import sys
import types
import warnings
from pathlib import Path

import optim_cases
import torch
from optim_cases import CASES, MODELS, describe_groups


def _mmcv_build_optimizer():  # type: ignore[no-untyped-def]
    try:
        import torchvision  # noqa: F401
    except Exception:
        placeholder = types.ModuleType("torchvision")
        placeholder.__version__ = "0.0.0"  # type: ignore[attr-defined]
        sys.modules["torchvision"] = placeholder
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import mmcv
        import mmcv.runner.optimizer.default_constructor as default_constructor
        from mmcv.runner import build_optimizer
    # The pure-Python build has no mmcv.ops; its DCN rule needs `mmcv.ops.DeformConv2d`, so stand-ins
    # (optim_cases' classes) are installed as mmcv.ops and the ops check is answered yes.
    ops = types.ModuleType("mmcv.ops")
    ops.DeformConv2d = optim_cases.DeformConv2d  # type: ignore[attr-defined]
    ops.ModulatedDeformConv2d = optim_cases.ModulatedDeformConv2d  # type: ignore[attr-defined]
    sys.modules["mmcv.ops"] = ops
    default_constructor.check_ops_exist = lambda: True  # type: ignore[attr-defined]
    return mmcv.__version__, build_optimizer


def main() -> None:
    version, build_optimizer = _mmcv_build_optimizer()
    out: dict[str, object] = {"mmcv": version, "torch": torch.__version__.split("+")[0], "cases": {}}
    for case, (model_name, cfg) in CASES.items():
        model = MODELS[model_name]()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                optimizer = build_optimizer(model, copy.deepcopy(cfg))
            except ValueError as err:
                out["cases"][case] = {"error": type(err).__name__, "message": str(err)}  # type: ignore[index]
                continue
        duplicate_warnings = [str(w.message) for w in caught if "duplicate" in str(w.message)]
        out["cases"][case] = {  # type: ignore[index]
            "optimizer": type(optimizer).__name__,
            "groups": describe_groups(model, optimizer),
            "duplicate_warnings": duplicate_warnings,
        }
    path = Path(__file__).with_name("optimizer_groups.json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path} ({len(CASES)} cases, mmcv {version})")


if __name__ == "__main__":
    main()
