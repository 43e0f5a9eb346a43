"""docs/plugins.md as written: its pyproject.toml installs, its modules work, a fresh process lists them.

The test copies the ``pyproject.toml`` block and every Python block that starts with
``# acme_runners/<module>.py`` verbatim from the page, writes the modules the entry points name
that the page does not show (a plain runner, model and dataset), builds and pip-installs the
project, then asks a fresh ``runnerkit`` process what is installed and trains with the page's
constructor and hook.
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
from pathlib import Path

import pytest

from tests.cli_helpers import runnerkit
from tests.plugin_helpers import build_wheel, pip_install, run_python

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"

#: modules for the entry points whose code the page does not show (it shows the constructor and the hook)
PLAIN = {
    "runnerkit.runners": "import runnerkit\n\n\nclass {attr}(runnerkit.IterBasedRunner):\n    pass\n",
    "runnerkit.models": "from runnerkit.demo import DemoModel\n\n\nclass {attr}(DemoModel):\n    pass\n",
    "runnerkit.datasets": "from runnerkit.demo import DemoDataset\n\n\nclass {attr}(DemoDataset):\n    pass\n",
}


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.S | re.M)


def blocks_indented(text: str) -> list[str]:
    """The Python blocks inside list items (indented two spaces), as written there."""
    return re.findall(r"^  ```python\n(.*?)^  ```", text, re.S | re.M)


def write_guide_project(root: Path) -> tuple[Path, dict[str, object]]:
    """The plugin project as docs/plugins.md describes it; returns its folder and parsed pyproject."""
    text = GUIDE.read_text(encoding="utf-8")
    (pyproject,) = [b for b in blocks(text, "toml") if b.startswith("# pyproject.toml of the distribution")]
    project = root / "acme-runners"
    project.mkdir()
    (project / "pyproject.toml").write_text(pyproject)  # verbatim
    meta = tomllib.loads(pyproject)
    shown = {}
    for block in blocks(text, "python") + [textwrap.dedent(b) for b in blocks_indented(text)]:
        first = block.splitlines()[0]
        if first.startswith("# acme_runners/"):
            shown[first[2:].strip()] = block
    assert {"acme_runners/__init__.py", "acme_runners/build.py", "acme_runners/hooks.py",
            "acme_runners/seeded.py"} <= set(shown), sorted(shown)  # the package's __init__.py too: the page gives it
    package = project / "acme_runners"
    package.mkdir()
    for rel, source in shown.items():
        (project / rel).write_text(source)  # verbatim
    for group, entries in meta["project"]["entry-points"].items():  # type: ignore[index]
        for value in entries.values():
            module, attr = value.split(":")
            path = project / (module.replace(".", "/") + ".py")
            if not path.exists():
                assert group in PLAIN, f"the page names `{value}` ({group}) but shows no code for it"
                path.write_text(PLAIN[group].format(attr=attr))
    return project, meta


@pytest.mark.slow
def test_the_guides_plugin_installs_as_written_and_lists_and_trains(tmp_path: Path) -> None:
    project, meta = write_guide_project(tmp_path)
    assert meta["build-system"]["build-backend"] == "hatchling.build"  # type: ignore[index]
    version = meta["project"]["version"]  # type: ignore[index]
    site = tmp_path / "site"
    pip_install([build_wheel(project, tmp_path / "wheels")], site)

    listed = runnerkit("list", "--kind", "all", "--json", cwd=tmp_path, path=[site])
    assert listed.returncode == 0, listed.stderr
    mine = {(c["kind"], c["name"]): c for c in json.loads(listed.stdout) if c["distribution"] == "acme-runners"}
    expected = {("runner", "FastRunner"), ("constructor", "CountingConstructor"), ("hook", "IterCounterHook"),
                ("model", "ResNetTiny"), ("dataset", "Shapes")}
    assert set(mine) == expected
    assert all(c["version"] == version and c["source"] == "entry-point" and not c.get("problem") for c in mine.values())

    checked = runnerkit("check-plugin", "acme-runners", cwd=tmp_path, path=[site])
    assert checked.returncode == 0, checked.stdout + checked.stderr

    trained = run_python(
        """
        import torch
        from torch.utils.data import DataLoader

        import runnerkit
        from acme_runners.build import CountingConstructor
        from acme_runners.models import ResNetTiny
        from acme_runners.data import Shapes

        CountingConstructor.interval = 2
        model = ResNetTiny(hidden=8)
        runner = runnerkit.build(
            dict(type="FastRunner", constructor="CountingConstructor", max_iters=6),
            default_args=dict(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1)),
        )
        runner.register_training_hooks(lr_config=None, optimizer_config={})
        runner.run([DataLoader(Shapes(num_samples=32), batch_size=8)], [("train", 1)])
        (hook,) = [h for h in runner.hooks if type(h).__name__ == "IterCounterHook"]
        emit({"runner": type(runner).__name__, "meta": runner.meta, "iters": hook.iters, "samples": hook.samples,
              "state": hook.state_dict(), "priority": hook.priority})
        """,
        path=[site], cache_dir=tmp_path / "cache", cwd=tmp_path,
    )
    assert trained == {"runner": "FastRunner", "meta": {"built_by": "CountingConstructor"}, "iters": 6, "samples": 48,
                       "state": {"iters": 6, "samples": 48}, "priority": 70}

    seeded = run_python(  # the guide's runner reads its own new argument
        """
        import pydantic
        import torch
        from torch.utils.data import DataLoader

        from acme_runners.models import ResNetTiny
        from acme_runners.data import Shapes
        from acme_runners.seeded import SeededIterRunner

        model = ResNetTiny(hidden=8)
        runner = SeededIterRunner(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), max_iters=2, seed=3)
        torch.manual_seed(12345)
        runner.run([DataLoader(Shapes(num_samples=16), batch_size=8)], [("train", 1)])
        try:
            SeededIterRunner(model=model, max_iters=2, seed=-1)
            refused = ""
        except pydantic.ValidationError as err:
            refused = str(err).splitlines()[0]
        emit({"seed": runner.args.seed, "initial_seed": torch.initial_seed(), "refused": refused})
        """,
        path=[site], cache_dir=tmp_path / "cache", cwd=tmp_path,
    )
    assert seeded == {"seed": 3, "initial_seed": 3, "refused": "1 validation error for SeededIterRunner"}


def test_the_stages_and_attributes_are_what_the_hook_guide_says() -> None:
    import torch

    import runnerkit
    from tests.helpers import TinyNet, make_loader

    seen: list[tuple[object, ...]] = []

    class Recorder(runnerkit.Hook):
        def before_run(self, runner: runnerkit.BaseRunner) -> None:
            seen.append(("before_run", runner.mode, runner.epoch, runner.iter))

        def before_train_epoch(self, runner: runnerkit.BaseRunner) -> None:
            seen.append(("before_train_epoch", runner.mode, runner.epoch, runner.iter))

        def before_train_iter(self, runner: runnerkit.BaseRunner) -> None:
            seen.append(("before_train_iter", runner.mode, runner.epoch, runner.iter, runner.inner_iter,
                         runner.data_batch is not None))

        def after_train_iter(self, runner: runnerkit.BaseRunner) -> None:
            seen.append(("after_train_iter", runner.epoch, runner.iter, runner.inner_iter, sorted(runner.outputs),
                         self.every_n_iters(runner, 2), self.end_of_epoch(runner)))

        def after_train_epoch(self, runner: runnerkit.BaseRunner) -> None:
            seen.append(("after_train_epoch", runner.epoch, runner.iter, runner.data_batch))

        def after_run(self, runner: runnerkit.BaseRunner) -> None:
            seen.append(("after_run", runner.epoch, runner.iter))

    model = TinyNet()
    runner = runnerkit.EpochBasedRunner(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), max_epochs=2)
    runner.register_hook(Recorder())
    runner.run([make_loader(n=4, batch_size=2)], [("train", 1)])
    keys = ["log_vars", "loss", "num_samples"]
    assert seen == [
        ("before_run", None, 0, 0),
        ("before_train_epoch", "train", 0, 0),
        ("before_train_iter", "train", 0, 0, 0, True),
        ("after_train_iter", 0, 0, 0, keys, False, False),
        ("before_train_iter", "train", 0, 1, 1, True),
        ("after_train_iter", 0, 1, 1, keys, True, True),
        ("after_train_epoch", 0, 2, None),
        ("before_train_epoch", "train", 1, 2),
        ("before_train_iter", "train", 1, 2, 0, True),
        ("after_train_iter", 1, 2, 0, keys, False, False),
        ("before_train_iter", "train", 1, 3, 1, True),
        ("after_train_iter", 1, 3, 1, keys, True, True),
        ("after_train_epoch", 1, 4, None),
        ("after_run", 2, 4),
    ]
