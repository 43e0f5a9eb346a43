"""acme-runners, as a user sees it once it is installed next to runnerkit."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pydantic
import pytest
import torch

import runnerkit


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(2, 1)

    def train_step(self, data_batch: torch.Tensor, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        loss = self.fc(data_batch).pow(2).mean()
        return {"loss": loss, "log_vars": {"loss": loss.detach()}, "num_samples": len(data_batch)}


@pytest.fixture
def container() -> runnerkit.Container:
    return runnerkit.Container()


def test_every_component_is_listed_with_acme_runners_as_its_distribution(container: runnerkit.Container) -> None:
    found = {(r.kind, r.name): r for r in container.records() if r.distribution == "acme-runners"}
    assert {key: (r.target, r.source, r.version) for key, r in found.items()} == {
        ("runner", "SeededIterRunner"): ("acme_runners.runners:SeededIterRunner", "entry-point", "0.1.0"),
        ("constructor", "StampedRunnerConstructor"): (
            "acme_runners.constructors:StampedRunnerConstructor", "entry-point", "0.1.0"),
        ("hook", "IterCounterHook"): ("acme_runners.hooks:IterCounterHook", "entry-point", "0.1.0"),
        ("runner", "SeededEpochRunner"): ("acme_runners.runners:SeededEpochRunner", "plugin", "0.1.0"),
    }
    assert [p for p in container.problems if p.distribution == "acme-runners"] == []


def test_listing_imports_neither_the_components_nor_torch() -> None:
    code = (
        "import json, sys, runnerkit\n"
        "names = sorted(r.name for r in runnerkit.Container().records() if r.distribution == 'acme-runners')\n"
        "print(json.dumps([names, sorted(m for m in sys.modules if m.startswith(('acme_runners', 'torch')))]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    names, imported = json.loads(out)
    assert names == ["IterCounterHook", "SeededEpochRunner", "SeededIterRunner", "StampedRunnerConstructor"]
    # The pluggy plugin module is imported to ask its hooks; nothing else is.
    assert imported == ["acme_runners", "acme_runners.plugin"]


def test_the_entry_point_runner_is_built_with_its_own_seed_argument() -> None:
    model = Net()
    runner = runnerkit.build(dict(type="SeededIterRunner", max_iters=3, seed=7), default_args=dict(model=model))
    assert type(runner).__name__ == "SeededIterRunner"
    assert isinstance(runner, runnerkit.IterBasedRunner)
    assert runner.seed == 7
    assert runner.model is model


def test_the_plugin_runner_is_built_by_its_qualified_name() -> None:
    runner = runnerkit.build(dict(type="acme-runners:SeededEpochRunner", max_epochs=2), default_args=dict(model=Net()))
    assert isinstance(runner, runnerkit.EpochBasedRunner)
    assert runner.seed is None


def test_a_negative_seed_is_rejected_with_the_other_errors() -> None:
    with pytest.raises(pydantic.ValidationError, match=r"(?s)2 validation errors.*seed.*greater than or equal to 0.*sed"):
        runnerkit.build(dict(type="SeededIterRunner", max_iters=3, seed=-1, sed=1), default_args=dict(model=Net()))


def test_the_constructor_stamps_meta_and_keeps_the_given_meta() -> None:
    runner = runnerkit.build(
        dict(type="SeededIterRunner", constructor="StampedRunnerConstructor", max_iters=3),
        default_args=dict(model=Net(), meta={"exp": "a"}),
    )
    assert runner.meta == {"exp": "a", "built_by": "acme-runners:StampedRunnerConstructor"}


def test_the_hook_is_built_from_a_config_and_checkpoints_its_counts() -> None:
    runner = runnerkit.build(dict(type="SeededIterRunner", max_iters=3), default_args=dict(model=Net()))
    runner.register_hook_from_cfg(dict(type="IterCounterHook", start=5))
    (hook,) = [h for h in runner.hooks if type(h).__name__ == "IterCounterHook"]
    hook.after_train_iter(runner)
    assert hook.state_dict() == {"iters": 6, "epochs": 0}
    with pytest.raises(ValueError, match=r"`start` must be a non-negative int, got -1"):
        runner.register_hook_from_cfg(dict(type="IterCounterHook", start=-1))


def test_the_args_schema_shows_the_seed_and_marks_runtime_objects() -> None:
    schema = runnerkit.args_schema("SeededIterRunner")
    assert schema["properties"]["seed"]["anyOf"][0] == {"minimum": 0, "type": "integer"}
    assert "seed" in schema["properties"]["seed"]["description"].lower()
    assert schema["properties"]["model"]["x-runtime-only"] is True
    assert runnerkit.args_schema("SeededEpochRunner")["properties"]["seed"] == schema["properties"]["seed"]


class NoisyNet(Net):
    """Draws a random number each step, to see the seed at work."""

    def __init__(self) -> None:
        super().__init__()
        self.draws: list[float] = []

    def train_step(self, data_batch: torch.Tensor, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        self.draws.append(float(torch.rand(())))
        return super().train_step(data_batch, optimizer, **kwargs)


def train(runner_type: str, seed: int, **cfg: Any) -> tuple[list[float], Any]:
    model = NoisyNet()
    runner = runnerkit.build(dict(type=runner_type, seed=seed, **cfg), default_args=dict(model=model))
    runner.register_hook_from_cfg(dict(type="IterCounterHook"))
    loader = torch.utils.data.DataLoader(torch.randn(4, 2), batch_size=2)
    runner.run([loader], [("train", 1)])
    (hook,) = [h for h in runner.hooks if type(h).__name__ == "IterCounterHook"]
    return model.draws, hook


@pytest.mark.parametrize(("runner_type", "cfg", "iters", "epochs"), [
    ("SeededIterRunner", {"max_iters": 5}, 5, 1),  # IterBasedRunner (as mmcv 1.7.2): epoch hooks once per run
    ("SeededEpochRunner", {"max_epochs": 2}, 4, 2),
])
def test_training_with_a_seed_repeats_exactly_and_the_hook_counts(
    runner_type: str, cfg: dict[str, Any], iters: int, epochs: int
) -> None:
    torch.manual_seed(123)
    draws, hook = train(runner_type, 11, **cfg)
    torch.manual_seed(456)  # a different global state: the runner's seed decides
    again, _ = train(runner_type, 11, **cfg)
    other, _ = train(runner_type, 12, **cfg)
    assert len(draws) == iters
    assert draws == again
    assert draws != other
    assert (hook.iters, hook.epochs) == (iters, epochs)
