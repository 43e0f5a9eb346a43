"""Config files into plain dicts, ``_base_`` inheritance and ``--cfg-options`` merging."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from runnerkit import ConfigError
from runnerkit.config import load_config, merge_dicts, merge_options, parse_option, parse_value, read_config

EXPECTED = {
    "model": {"type": "DemoModel", "hidden": 8},
    "runner": {"type": "IterBasedRunner", "max_iters": 10},
    "workflow": [["train", 1]],
}

SOURCES = {
    "py": 'model = dict(type="DemoModel", hidden=8)\nrunner = dict(type="IterBasedRunner", max_iters=10)\n'
          'workflow = [["train", 1]]\n',
    "json": '{"model": {"type": "DemoModel", "hidden": 8}, "runner": {"type": "IterBasedRunner", "max_iters": 10},'
            ' "workflow": [["train", 1]]}',
    "yaml": "model:\n  type: DemoModel\n  hidden: 8\nrunner:\n  type: IterBasedRunner\n  max_iters: 10\n"
            "workflow:\n  - [train, 1]\n",
    "toml": 'workflow = [["train", 1]]\n[model]\ntype = "DemoModel"\nhidden = 8\n'
            '[runner]\ntype = "IterBasedRunner"\nmax_iters = 10\n',
}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("suffix", sorted(SOURCES))
def test_every_format_loads_into_the_same_plain_dict(tmp_path: Path, suffix: str) -> None:
    assert load_config(write(tmp_path, f"cfg.{suffix}", SOURCES[suffix])) == EXPECTED


def test_yml_is_read_as_yaml(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "cfg.yml", SOURCES["yaml"])) == EXPECTED


def test_a_python_config_keeps_values_and_drops_imports_functions_and_classes(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "cfg.py", (
        "import os\n"
        "from collections import OrderedDict\n"
        "def helper():\n    return 3\n"
        "class Local:\n    pass\n"
        "lr = 0.1 * helper()\n"
        "optimizer = dict(type='SGD', lr=lr)\n"
        "_private = 1\n"
        "__dunder = 2\n"
    )))
    assert cfg == {"lr": pytest.approx(0.3), "optimizer": {"type": "SGD", "lr": pytest.approx(0.3)}, "_private": 1}


def test_a_python_config_can_import_a_module_next_to_it_without_leaving_its_folder_on_sys_path(tmp_path: Path) -> None:
    write(tmp_path, "shared_settings_for_cfg.py", "BATCH = 7\n")
    path = write(tmp_path, "cfg.py", "from shared_settings_for_cfg import BATCH\ndata = dict(samples_per_gpu=BATCH)\n")
    assert load_config(path) == {"BATCH": 7, "data": {"samples_per_gpu": 7}}
    assert str(tmp_path.resolve()) not in sys.path


def test_base_files_are_merged_under_the_config_and_delete_replaces_a_dict(tmp_path: Path) -> None:
    write(tmp_path, "base_model.py", "model = dict(type='DemoModel', hidden=8, num_classes=3)\n")
    write(tmp_path, "base_sched.json", '{"optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9}, "seed": 1}')
    path = write(tmp_path, "cfg.py", (
        "_base_ = ['base_model.py', 'base_sched.json']\n"
        "model = dict(hidden=16)\n"
        "optimizer = dict(_delete_=True, type='Adam', lr=0.01)\n"
    ))
    loaded = read_config(path)
    assert loaded.data == {
        "model": {"type": "DemoModel", "hidden": 16, "num_classes": 3},
        "optimizer": {"type": "Adam", "lr": 0.01},
        "seed": 1,
    }
    assert loaded.sources == [path, tmp_path / "base_model.py", tmp_path / "base_sched.json"]


def test_a_base_cycle_is_reported_with_the_chain(tmp_path: Path) -> None:
    write(tmp_path, "a.json", '{"_base_": "b.json"}')
    write(tmp_path, "b.json", '{"_base_": "a.json"}')
    with pytest.raises(ConfigError, match=r"inherits from itself through `_base_` \(`a.json` -> `b.json` -> `a.json`\)"):
        load_config(tmp_path / "a.json")


def test_a_base_that_is_not_a_file_name_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"`_base_` in `.*cfg.json` must be a file name or a list of them, got `3`"):
        load_config(write(tmp_path, "cfg.json", '{"_base_": 3}'))


def test_a_missing_file_names_the_path_and_the_accepted_suffixes(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"Config file `.*nope.py` does not exist; give the path of a \.py/\.json"):
        load_config(tmp_path / "nope.py")


def test_a_folder_is_not_a_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"Config file `.*` is a folder"):
        load_config(tmp_path)


def test_an_unsupported_suffix_lists_the_supported_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unsupported suffix `\.ini`; use one of \.py, \.json, \.yaml, \.yml, \.toml"):
        load_config(write(tmp_path, "cfg.ini", "[a]\n"))


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("cfg.json", '{\n  "a": 1,\n  "b": x\n}', r"cfg.json:3: invalid JSON: Expecting value"),
        ("cfg.yaml", "a: 1\nb: [1, 2\n", r"cfg.yaml:3: invalid YAML: expected ',' or ']'"),
        ("cfg.toml", "a = 1\nb = \n", r"cfg.toml: invalid TOML: Invalid value \(at line 2"),
        ("cfg.py", "a = 1\nb = (\n", r"cfg.py:2: invalid Python: '\(' was never closed"),
        ("cfg.py", "a = 1\nb = 1 / 0\n", r"cfg.py:2: executing the config raised ZeroDivisionError: division by zero"),
        ("cfg.json", "[1, 2]", r"holds a list, expected a mapping of sections"),
    ],
)
def test_a_file_that_cannot_be_parsed_gives_its_name_and_line(tmp_path: Path, name: str, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, name, text))


def test_reading_yaml_without_pyyaml_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)
    with pytest.raises(ConfigError, match=r'needs PyYAML, which is not installed; run `pip install "runnerkit\[yaml\]"`'):
        load_config(write(tmp_path, "cfg.yaml", "a: 1\n"))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", 1), ("0.5", 0.5), ("1e-3", 1e-3), ("[1, 2]", [1, 2]), ("(1, 2)", (1, 2)), ("{'a': 1}", {"a": 1}),
        ("'quoted'", "quoted"), ("True", True), ("false", False), ("none", None), ("null", None),
        ("SGD", "SGD"), ("a,b", ["a", "b"]), ("1,2,3", [1, 2, 3]), ("work_dirs/x", "work_dirs/x"), ("", ""),
    ],
)
def test_command_line_values_are_python_literals_or_strings(text: str, value: object) -> None:
    assert parse_value(text) == value


def test_an_option_is_split_at_the_first_equals_sign() -> None:
    assert parse_option("optimizer.lr=0.1") == ("optimizer.lr", 0.1)
    assert parse_option("name=a=b") == ("name", "a=b")


@pytest.mark.parametrize("text", ["runner.max_iters", "=3"])
def test_an_option_without_a_key_and_value_is_rejected(text: str) -> None:
    with pytest.raises(ValueError, match=rf"expected KEY=VALUE such as `runner.max_iters=100`, got `{text}`"):
        parse_option(text)


def test_options_set_nested_keys_create_missing_dicts_and_leave_the_input_alone() -> None:
    cfg = {"runner": {"type": "IterBasedRunner", "max_iters": 10}, "workflow": [("train", 1)]}
    merged = merge_options(cfg, [("runner.max_iters", 20), ("optimizer.lr", 0.1), ("workflow.0.1", 5)])
    assert merged == {
        "runner": {"type": "IterBasedRunner", "max_iters": 20},
        "workflow": [["train", 5]],
        "optimizer": {"lr": 0.1},
    }
    assert cfg == {"runner": {"type": "IterBasedRunner", "max_iters": 10}, "workflow": [("train", 1)]}


def test_options_accept_a_mapping_and_replace_a_none_section() -> None:
    assert merge_options({"lr_config": None}, {"lr_config.policy": "step"}) == {"lr_config": {"policy": "step"}}


def test_an_option_through_a_scalar_says_which_key_to_set_instead() -> None:
    with pytest.raises(ConfigError, match=r"`runner.max_iters` is int `10`, not a dict, so it has no key `x`; set `runner.max_iters` itself"):
        merge_options({"runner": {"max_iters": 10}}, [("runner.max_iters.x", 1)])


def test_an_option_index_outside_a_list_gives_the_valid_range() -> None:
    with pytest.raises(ConfigError, match=r"`workflow` is a list of 1 items, so `3` must be an index from 0 to 0"):
        merge_options({"workflow": [["train", 1]]}, [("workflow.3", 1)])


def test_merging_dicts_recurses_and_does_not_mutate() -> None:
    base = {"a": {"b": 1, "c": 2}, "d": 1}
    assert merge_dicts(base, {"a": {"b": 3}, "e": 4}) == {"a": {"b": 3, "c": 2}, "d": 1, "e": 4}
    assert base == {"a": {"b": 1, "c": 2}, "d": 1}
