"""Writes tests/mmcv_parity/data/mmcv_utils_reference.json by running real mmcv 1.7.2 once.

Run with the interpreter that has mmcv 1.7.2 (benchmarks/install_mmcv.sh), from the repository root:
    python tests/mmcv_parity/scripts/make_utils_reference.py
The parity tests compare runnerkit's layer with the stored values; they never import mmcv.

mmcv 1.7.2's ``mmcv.runner`` imports torchvision at import time; where torchvision is not installed
(the values do not depend on it), put an empty ``torchvision`` package on ``PYTHONPATH``.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import mmcv
from mmcv import Config, DictAction, digit_version

HERE = Path(__file__).resolve().parents[1] / "data"
CONFIGS = HERE / "configs"

DICT_ACTION = ["1", "-2", "0.5", "1e-3", "True", "false", "None", "none", "abc", "a,b", "1,2,3", "[1,2]",
               "(1,2)", "[(1,2),[a,b]],c", "[]", "()", "'x'", "\"[1, 2]\"", "1,", "[[1,2],(3,[4,5])]",
               "  spaced  ", "1,,2"]
VERSIONS = ["1.7.2", "1.3", "2.0.0rc1", "2.0.0b2", "2.0.0a3", "1.2.3.post1", "1.0.0.dev1", "2.13.0+cpu",
            "1.2.3.4", "0.25.0"]
MERGES = [
    {"model.backbone.depth": 50},
    {"model.decode_head": {"num_classes": 7}},
    {"data.train.pipeline.1.ratio_range": [1.0, 1.0]},
    {"new_key.inner": 1, "work_dir": "w"},
    {"model.backbone": {"_delete_": True, "type": "MobileNet"}},
]


def plain(value: object) -> object:
    """JSON-able form that keeps tuples apart from lists."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return {"__tuple__": [plain(v) for v in value]}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def main() -> None:
    out: dict[str, object] = {"mmcv": mmcv.__version__}
    out["configs"] = {name: plain(Config.fromfile(CONFIGS / name).to_dict() if hasattr(Config, "to_dict")
                                  else Config.fromfile(CONFIGS / name)._cfg_dict.to_dict())
                      for name in ("child.py", "grandchild.py")}
    merges = []
    for options in MERGES:
        cfg = Config.fromfile(CONFIGS / "child.py")
        cfg.merge_from_dict(copy.deepcopy(options))  # mmcv pops `_delete_` from what it is given
        merges.append({"options": options, "result": plain(cfg._cfg_dict.to_dict())})
    out["merge_from_dict"] = merges
    out["dict_action"] = {text: plain(DictAction._parse_iterable(text)) for text in DICT_ACTION}
    out["digit_version"] = {text: list(digit_version(text)) for text in VERSIONS}
    (HERE / "mmcv_utils_reference.json").write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print("written with mmcv", mmcv.__version__, "python", sys.version.split()[0])


if __name__ == "__main__":
    main()
