"""A third-party layer-decay optimizer constructor, pip-installed as a real distribution, used from a config.

The distribution declares one constructor under the entry-point group ``runnerkit.optimizer_constructors``
and another through a pluggy plugin (``runnerkit_optimizer_constructors``); a fresh process lists both,
validates a config naming them, and trains with the parameter groups they build.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.plugin_helpers import FakeDist, install, run_python

_CONSTRUCTOR = """
from runnerkit.optim import DefaultOptimizerConstructor


class LayerDecayOptimizerConstructor(DefaultOptimizerConstructor):
    \"\"\"Layer-wise lr decay over `net.<i>` layers: `lr * decay_rate ** (num_layers - layer - 1)`.\"\"\"

    def add_params(self, params, module, **kwargs):
        num_layers = self.paramwise_cfg["num_layers"]
        decay_rate = self.paramwise_cfg["decay_rate"]
        groups = {}
        for name, param in module.named_parameters():
            layer = int(name.split(".")[1]) // 2
            no_decay = name.endswith(".bias")
            key = f"layer_{layer}_{'no_decay' if no_decay else 'decay'}"
            groups.setdefault(key, {
                "params": [], "group_name": key, "lr": self.base_lr * decay_rate ** (num_layers - layer - 1),
                "weight_decay": 0.0 if no_decay else self.base_wd,
            })["params"].append(param)
        params.extend(groups.values())


class FlatConstructor(LayerDecayOptimizerConstructor):
    \"\"\"The same with every rate 1 (offered through the pluggy plugin).\"\"\"

    def add_params(self, params, module, **kwargs):
        self.paramwise_cfg = {"num_layers": 1, "decay_rate": 1.0}
        super().add_params(params, module)
"""

_PLUGIN = """
import runnerkit


@runnerkit.hookimpl
def runnerkit_optimizer_constructors():
    return {"FlatConstructor": "acme_layer_decay.constructor:FlatConstructor"}
"""

DIST = FakeDist(
    "acme-layer-decay", "0.3.0",
    entry_points={
        "runnerkit.optimizer_constructors": {
            "LayerDecayOptimizerConstructor": "acme_layer_decay.constructor:LayerDecayOptimizerConstructor",
        },
        "runnerkit.plugins": {"acme": "acme_layer_decay.plugin"},
    },
    files={"acme_layer_decay/constructor.py": _CONSTRUCTOR, "acme_layer_decay/plugin.py": _PLUGIN},
)

CONFIG = {
    "seed": 0,
    "model": {"type": "DemoModel", "hidden": 8},
    "data": {"samples_per_gpu": 8, "train": {"type": "DemoDataset", "num_samples": 16}},
    "optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9, "weight_decay": 0.01,
                  "constructor": "LayerDecayOptimizerConstructor",
                  "paramwise_cfg": {"num_layers": 3, "decay_rate": 0.5}},
    "optimizer_config": {},
    "runner": {"type": "IterBasedRunner", "max_iters": 2},
}

PROBE = """
import runnerkit
from runnerkit.check import check_config
from runnerkit.config import read_config
from runnerkit.job import build_job

container = runnerkit.default_container()
listed = sorted((r.name, r.source, r.distribution) for r in container.records("optimizer_constructor"))
cfg = read_config(sys.argv[1] if len(sys.argv) > 1 else "config.json").data
problems = [str(p) for p in check_config(cfg)]
job = build_job(cfg, work_dir="work")
job.run()
groups = [(g["group_name"], g["lr"], g["weight_decay"], len(g["params"])) for g in job.runner.optimizer.param_groups]
flat = cfg["optimizer"] | {"constructor": "FlatConstructor"}
from runnerkit.factories import build_optimizers
flat_lrs = sorted({g["lr"] for g in build_optimizers(job.runner.model, flat).param_groups})
emit({"listed": listed, "problems": problems, "groups": groups, "flat": flat_lrs, "iter": job.runner.iter})
"""


@pytest.mark.slow
def test_an_installed_layer_decay_constructor_builds_the_optimizer_of_a_config(tmp_path: Path) -> None:
    site = install([DIST], tmp_path / "site", tmp_path / "scratch")
    (tmp_path / "config.json").write_text(json.dumps(CONFIG))
    result = run_python(PROBE, path=[site], cache_dir=tmp_path / "cache", cwd=tmp_path)
    assert result["listed"] == [
        ["DefaultOptimizerConstructor", "entry-point", "runnerkit"],
        ["FlatConstructor", "plugin", "acme-layer-decay"],
        ["LayerDecayOptimizerConstructor", "entry-point", "acme-layer-decay"],
    ]
    assert result["problems"] == []  # its own paramwise keys are not checked against the default's
    assert result["groups"] == [
        ["layer_0_decay", 0.025, 0.01, 1], ["layer_0_no_decay", 0.025, 0.0, 1],
        ["layer_1_decay", 0.05, 0.01, 1], ["layer_1_no_decay", 0.05, 0.0, 1],
        ["layer_2_decay", 0.1, 0.01, 1], ["layer_2_no_decay", 0.1, 0.0, 1],
    ]
    assert result["flat"] == [0.1]
    assert result["iter"] == 2
