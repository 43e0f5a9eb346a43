"""JSON Schemas (``runnerkit._schema``): every component's section, and a whole config file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import runnerkit
from runnerkit._schema import config_schema
from runnerkit.config import read_config

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"


def as_json(value: Any) -> Any:
    """What a JSON/YAML file would hold: tuples become lists."""
    return json.loads(json.dumps(value))


def errors(schema: dict[str, Any], instance: Any) -> list[str]:
    return [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(as_json(instance))]


@pytest.fixture(scope="module")
def whole() -> dict[str, Any]:
    schema = config_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


@pytest.mark.parametrize(
    ("kind", "name", "good", "bad"),
    [
        ("runner", "IterBasedRunner", {"type": "IterBasedRunner", "max_iters": 10}, {"max_iters": "ten"}),
        ("runner", "EpochBasedRunner", {"type": "EpochBasedRunner", "constructor": "DefaultRunnerConstructor",
                                        "max_epochs": 2, "work_dir": "w", "meta": {"a": 1}}, {"max_epoch": 2}),
        ("hook", "CheckpointHook", {"type": "CheckpointHook", "interval": 2, "max_keep_ckpts": -1,
                                    "create_symlink": False, "priority": "NORMAL"}, {"interval": "often"}),
        ("hook", "EvalHook", {"type": "EvalHook", "interval": 1, "save_best": "acc"}, {"interval": 0}),
        ("hook", "EMAHook", {"type": "EMAHook", "momentum": 0.001}, {"momentum": "high"}),
        ("hook", "TextLoggerHook", {"type": "TextLoggerHook", "interval": 5}, {"by_epok": False}),
        ("model", "DemoModel", {"type": "DemoModel", "hidden": 8}, {"hidden": "big"}),
        ("dataset", "DemoDataset", {"type": "DemoDataset", "num_samples": 4}, {"noise": "loud"}),
        ("optimizer", "SGD", {"type": "SGD", "lr": 0.1, "momentum": 0.9}, {"lr": "fast"}),
    ],
)
def test_a_components_schema_accepts_its_valid_sections_and_rejects_ill_typed_ones(
    kind: str, name: str, good: dict[str, Any], bad: dict[str, Any]
) -> None:
    schema = runnerkit.args_schema(name, kind=kind)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert errors(schema, good) == []
    assert errors(schema, {"type": name, **bad}) != []


def test_run_time_arguments_are_described_but_never_required() -> None:
    for kind, name in [("runner", "IterBasedRunner"), ("hook", "EvalHook"), ("optimizer", "Adam")]:
        schema = runnerkit.args_schema(name, kind=kind)
        runtime = {n for n, p in schema["properties"].items() if p.get("x-runtime-only")}
        assert runtime and not runtime & set(schema.get("required", [])), name


@pytest.mark.parametrize("path", sorted(p.name for p in EXAMPLES.iterdir() if p.suffix in {".py", ".yaml"}
                                        and p.name != "broken.py"))
def test_the_docs_examples_hold_against_the_config_schema(whole: dict[str, Any], path: str) -> None:
    assert errors(whole, read_config(EXAMPLES / path).data) == []


def test_the_demo_config_holds_and_every_section_refers_to_its_components(whole: dict[str, Any]) -> None:
    from runnerkit.demo import DEMO_CONFIG

    assert errors(whole, DEMO_CONFIG) == []
    assert errors(whole, {"runner": {"type": "IterBasedRunner", "max_iters": 5}, "data_root": "d/"}) == []
    assert errors(whole, {"optimizer": {"gen": {"type": "Adam", "lr": 1e-4}, "disc": {"type": "SGD", "lr": 0.1}}}) == []
    assert errors(whole, {"lr_config": {"policy": "CosineAnnealing", "min_lr": 0}}) == []
    refs = json.dumps(whole["properties"]["runner"])
    assert '"#/$defs/runner.IterBasedRunner"' in refs


@pytest.mark.parametrize(
    "section",
    [
        {"model": {"type": "DemoModel", "hidden": "big"}},
        {"optimizer": {"type": "SGD", "lr": "fast"}},
        {"checkpoint_config": {"interval": "often"}},
        {"checkpoint_config": {"max_keep_ckpt": 3}},
        {"custom_hooks": [{"type": "EMAHook", "momentum": "high"}]},
        {"log_config": {"hooks": [{"type": "TextLoggerHook", "by_epok": False}]}},
        {"lr_config": {"policy": "step", "step": "often"}},
        {"runner": {"type": "IterBasedRunner", "max_iters": 0}},
        {"data": {"train": {"type": "DemoDataset", "num_sample": 3}}},
        {"workflow": [["train", "one"]]},
    ],
)
def test_the_config_schema_rejects_ill_typed_sections(whole: dict[str, Any], section: dict[str, Any]) -> None:
    assert errors(whole, section) != []


def test_the_broken_example_is_rejected(whole: dict[str, Any]) -> None:
    assert errors(whole, read_config(EXAMPLES / "broken.py").data) != []


def test_every_installed_component_has_a_section_schema() -> None:
    from runnerkit._build import current_container

    container = current_container()
    for kind in ("runner", "constructor", "hook", "model", "dataset"):
        for record in container.records(kind):
            if record.distribution == "runnerkit":
                schema = runnerkit.args_schema(record.name, kind=kind)
                jsonschema.Draft202012Validator.check_schema(schema)
                assert schema["properties"]["type"]["type"] == "string", record.name


def test_a_python_configs_dict_validates_as_read_tuples_included(whole: dict[str, Any]) -> None:
    data = read_config(EXAMPLES / "demo.py").data
    assert isinstance(data["workflow"][0], tuple)
    assert list(jsonschema.Draft202012Validator(whole).iter_errors(data)) == []
    jsonschema.validate({"type": "TextLoggerHook", "out_suffix": (".log",)}, runnerkit.args_schema("TextLoggerHook", kind="hook"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"workflow": "train"}, whole)


def test_args_schema_finds_the_kind_of_a_name_or_class_by_itself() -> None:
    from runnerkit.demo import DemoModel

    assert runnerkit.args_schema("IterBasedRunner")["title"] == "IterBasedRunner (runner)"
    assert runnerkit.args_schema("CheckpointHook")["title"] == "CheckpointHook (hook)"
    assert runnerkit.args_schema("SGD")["title"] == "SGD (optimizer)"
    assert runnerkit.args_schema(DemoModel)["title"] == "DemoModel (model)"
    with pytest.raises(runnerkit.UnknownComponentError, match=r"Unknown runner `IterBasedRuner`\. Did you mean `IterBasedRunner`\?"):
        runnerkit.args_schema("IterBasedRuner")
