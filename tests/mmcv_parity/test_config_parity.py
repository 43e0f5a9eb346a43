"""``mmcv.Config`` / ``ConfigDict`` / ``DictAction`` on the layer, compared with values real mmcv 1.7.2 gave.

The reference file was written by ``scripts/make_utils_reference.py`` under mmcv 1.7.2 from the
config files in ``data/configs/`` (``_base_`` as a list and as a str, ``.py`` and ``.yaml`` bases,
``_delete_``, ``{{_base_.x}}``).
"""

from __future__ import annotations

import argparse
import copy
import json
import pickle
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parent / "data"
REFERENCE = json.loads((DATA / "mmcv_utils_reference.json").read_text())


def plain(value: Any) -> Any:
    """The reference file's form (tuples marked) of a value."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return {"__tuple__": [plain(v) for v in value]}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


@pytest.mark.parametrize("name", ["child.py", "grandchild.py"])
def test_fromfile_merges_bases_delete_and_base_references_as_mmcv(name: str) -> None:
    from mmcv import Config

    cfg = Config.fromfile(DATA / "configs" / name)
    assert plain(cfg._cfg_dict.to_dict()) == REFERENCE["configs"][name]
    assert cfg.filename == str((DATA / "configs" / name).resolve())
    assert "_base_" not in cfg


@pytest.mark.parametrize("case", REFERENCE["merge_from_dict"], ids=lambda c: ",".join(c["options"]))
def test_merge_from_dict_gives_mmcvs_result(case: dict[str, Any]) -> None:
    from mmcv import Config

    cfg = Config.fromfile(DATA / "configs" / "child.py")
    cfg.merge_from_dict(copy.deepcopy(case["options"]))
    assert plain(cfg._cfg_dict.to_dict()) == case["result"]


def test_merge_from_dict_refuses_an_index_past_the_list_and_a_dict_over_a_value() -> None:
    from mmcv import Config

    cfg = Config(dict(a=[1, 2], b=1))
    with pytest.raises(KeyError, match="Index 5 exceeds the length of list"):
        cfg.merge_from_dict({"a.5": 0})
    with pytest.raises(TypeError, match="b is a dict in the child config but is of type <class 'int'>"):
        cfg.merge_from_dict({"b": {"c": 1}})


@pytest.mark.parametrize("text", sorted(REFERENCE["dict_action"]))
def test_dict_action_parses_values_as_mmcv(text: str) -> None:
    from mmcv import DictAction

    parser = argparse.ArgumentParser()
    parser.add_argument("--cfg-options", nargs="+", action=DictAction)
    parsed = parser.parse_args(["--cfg-options", f"key={text}"]).cfg_options
    assert plain(parsed["key"]) == REFERENCE["dict_action"][text]


def test_dict_action_without_equals_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    from mmcv import DictAction

    parser = argparse.ArgumentParser()
    parser.add_argument("--cfg-options", nargs="+", action=DictAction)
    with pytest.raises(SystemExit):
        parser.parse_args(["--cfg-options", "model.depth"])
    assert "expected KEY=VALUE such as `model.depth=50`, got `model.depth`" in capsys.readouterr().err


def test_config_dict_attribute_access_and_missing_keys() -> None:
    from mmcv import Config, ConfigDict

    cfg = Config.fromfile(DATA / "configs" / "child.py")
    assert cfg.model.backbone.depth == 101 and cfg["model"]["backbone"]["type"] == "ResNetV1c"
    assert isinstance(cfg.data.train.pipeline[0], ConfigDict)
    cfg.model.pretrained = None
    cfg.gpu_ids = range(1)
    cfg.new = dict(a=dict(b=1))
    assert cfg.new.a.b == 1 and cfg.model.pretrained is None
    with pytest.raises(AttributeError, match="'ConfigDict' object has no attribute 'nothing'"):
        _ = cfg.nothing
    with pytest.raises(KeyError):
        _ = cfg["nothing"]
    assert cfg.get("nothing", 3) == 3 and cfg.data.get("test") is None
    with pytest.raises(KeyError, match="filename is reserved for config file"):
        Config(dict(filename="x"))


def test_config_copies_and_pickles() -> None:
    from mmcv import Config

    cfg = Config.fromfile(DATA / "configs" / "child.py")
    deep = copy.deepcopy(cfg)
    deep.model.backbone.depth = 18
    assert cfg.model.backbone.depth == 101
    again = pickle.loads(pickle.dumps(cfg))
    assert again == cfg and again.filename == cfg.filename and again.model.backbone.depth == 101
    shallow = cfg.model.copy()
    assert type(shallow).__name__ == "ConfigDict" and shallow.backbone is cfg.model.backbone


def test_pretty_text_and_dump_read_back_to_the_same_config(tmp_path: Path) -> None:
    from mmcv import Config

    cfg = Config.fromfile(DATA / "configs" / "child.py")
    cfg.merge_from_dict({"weird": {"a-b": 1, "class": (1,), "n": None}})
    text = cfg.pretty_text
    assert "model = dict(" in text
    cfg.dump(tmp_path / "out.py")
    assert Config.fromfile(tmp_path / "out.py") == cfg
    cfg.dump(tmp_path / "out.json")
    assert Config.fromfile(tmp_path / "out.json").model.decode_head.num_classes == 150
    assert cfg.dump() == text


def test_base_reference_to_a_missing_key_names_it(tmp_path: Path) -> None:
    from mmcv import Config

    (tmp_path / "base.py").write_text("a = dict(b=1)\n")
    (tmp_path / "cfg.py").write_text("_base_ = 'base.py'\nc = {{_base_.a.x}}\n")
    with pytest.raises(ValueError, match=r"refers to `\{\{_base_\.a\.x\}\}`, but its base files have no `a\.x`"):
        Config.fromfile(tmp_path / "cfg.py")
    (tmp_path / "lone.py").write_text("c = {{_base_.a}}\n")
    with pytest.raises(ValueError, match="has no `_base_`"):
        Config.fromfile(tmp_path / "lone.py")


def test_custom_imports_are_imported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mmcv import Config

    (tmp_path / "my_plugin_mod.py").write_text("IMPORTED = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "cfg.py").write_text("custom_imports = dict(imports=['my_plugin_mod'], allow_failed_imports=False)\n")
    Config.fromfile(tmp_path / "cfg.py")
    import sys

    assert sys.modules["my_plugin_mod"].IMPORTED


def test_base_references_work_in_runnerkits_own_data_configs(tmp_path: Path) -> None:
    from runnerkit.config import load_config

    (tmp_path / "base.yaml").write_text("runner:\n  type: IterBasedRunner\n  max_iters: 40\nsteps: [10, 20]\n")
    (tmp_path / "cfg.yaml").write_text("_base_: base.yaml\nlr_config:\n  step: {{ _base_.steps }}\n"
                                       "checkpoint_config: {interval: {{_base_.runner.max_iters}}}\n")
    cfg = load_config(tmp_path / "cfg.yaml")
    assert cfg["lr_config"] == {"step": [10, 20]} and cfg["checkpoint_config"] == {"interval": 40}
    (tmp_path / "cfg.json").write_text('{"_base_": "base.yaml", "n": {{_base_.runner.max_iters}}}')
    assert load_config(tmp_path / "cfg.json")["n"] == 40


def test_auto_argparser_and_file2dict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from mmcv import Config

    path = DATA / "configs" / "grandchild.py"
    monkeypatch.setattr(sys, "argv", ["train.py", str(path), "--runner.max_iters", "7"])
    parser, cfg = Config.auto_argparser("demo")
    args = parser.parse_args()
    assert args.config == str(path) and vars(args)["runner.max_iters"] == 7 and cfg.runner.max_iters == 160000
    values, text = Config._file2dict(path)
    assert values == cfg._cfg_dict and text.endswith(path.read_text())
