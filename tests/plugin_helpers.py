"""Build and install small plugin distributions for tests, and run code in a fresh process.

Discovery is tested on the real thing: each :class:`FakeDist` is written as a project
(``pyproject.toml`` and a package), built into a wheel by hatchling and installed by pip into a
``--target`` folder. A fresh ``python -c`` process with that folder on ``PYTHONPATH`` then runs
discovery and reports back as JSON, so nothing the test process already imported or cached can
hide a bug.

Installing is the slow part (one pip process, about a second), so :func:`fake_site` installs the
whole :data:`FAKE_DISTS` set once per test process into one folder.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
ACME = REPO / "plugins" / "acme-runners"
_MARK = "@@runnerkit-test-result@@"


@dataclasses.dataclass(frozen=True)
class FakeDist:
    """A distribution to build and install.

    Attributes:
        name: the distribution name (``Name:`` in its metadata).
        version: its version.
        entry_points: group -> {entry-point name: value}.
        files: path inside the project (``pkg/mod.py``) -> source; the top-level folders are the packages.
        dependencies: its ``Requires-Dist`` lines (pip is told not to install them).
        optional: extra -> requirements (``Requires-Dist: ...; extra == "<extra>"``).
    """

    name: str
    version: str = "1.0"
    entry_points: Mapping[str, Mapping[str, str]] = dataclasses.field(default_factory=dict)
    files: Mapping[str, str] = dataclasses.field(default_factory=dict)
    dependencies: Sequence[str] = ("runnerkit",)
    optional: Mapping[str, Sequence[str]] = dataclasses.field(default_factory=dict)

    @property
    def packages(self) -> list[str]:
        return sorted({path.split("/")[0] for path in self.files})


def _toml_list(items: Iterable[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def write_project(dist: FakeDist, root: Path) -> Path:
    """Write ``dist`` as a hatchling project under ``root`` and return its folder."""
    project = root / f"{dist.name}-{dist.version}"
    project.mkdir(parents=True)
    lines = [
        "[build-system]",
        'requires = ["hatchling"]',
        'build-backend = "hatchling.build"',
        "[project]",
        f"name = {json.dumps(dist.name)}",
        f"version = {json.dumps(dist.version)}",
        f"dependencies = {_toml_list(dist.dependencies)}",
    ]
    if dist.optional:
        lines.append("[project.optional-dependencies]")
        lines += [f"{extra} = {_toml_list(reqs)}" for extra, reqs in dist.optional.items()]
    for group, eps in dist.entry_points.items():
        lines.append(f"[project.entry-points.{json.dumps(group)}]")
        lines += [f"{json.dumps(name)} = {json.dumps(value)}" for name, value in eps.items()]
    lines += ["[tool.hatch.build.targets.wheel]", f"packages = {_toml_list(dist.packages)}"]
    (project / "pyproject.toml").write_text("\n".join(lines) + "\n")
    for rel, source in dist.files.items():
        path = project / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    for package in dist.packages:
        init = project / package / "__init__.py"
        if not init.exists():
            init.write_text("")
    return project


def build_wheel(project: Path, out: Path) -> Path:
    """Build ``project`` into a wheel in ``out`` with hatchling (in this process: fast)."""
    from hatchling.builders.wheel import WheelBuilder

    (wheel,) = WheelBuilder(str(project)).build(directory=str(out), versions=["standard"])
    return Path(wheel)


def pip_install(requirements: Sequence[Path], target: Path) -> None:
    """``pip install --no-deps --target target`` the given wheels or project folders."""
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
           "--no-index", "--no-build-isolation", "--target", str(target), *map(str, requirements)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"pip failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def install(dists: Sequence[FakeDist], target: Path, scratch: Path, extra: Sequence[Path] = ()) -> Path:
    """Build ``dists`` (and the projects in ``extra``) and install them all into ``target`` with one pip run."""
    wheels = [build_wheel(write_project(d, scratch / "src"), scratch / "wheels") for d in dists]
    wheels += [build_wheel(project, scratch / "wheels") for project in extra]
    pip_install(wheels, target)
    return target


def age(*paths: Path, seconds: float = 3600) -> None:
    """Set the modification time of ``paths`` ``seconds`` in the past.

    The discovery cache does not trust a ``sys.path`` folder modified within 2 s of the cache
    being written (its timestamp could hide a later install); tests that expect a cache hit age
    their folders first.
    """
    old = time.time() - seconds
    for path in paths:
        os.utime(path, (old, old))


def run_python(
    code: str,
    *,
    path: Sequence[Path] = (),
    cache_dir: Path,
    cwd: Path,
    env: Mapping[str, str] | None = None,
) -> Any:
    """Run ``code`` in a fresh interpreter and return what it passed to ``emit(value)`` (JSON).

    ``path`` goes first on ``PYTHONPATH``; ``RUNNERKIT_*`` variables of this process are not
    inherited, only those in ``env``.
    """
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("RUNNERKIT_")}
    full_env.update(
        PYTHONPATH=os.pathsep.join(str(p) for p in path),
        RUNNERKIT_CACHE_DIR=str(cache_dir),
        PYTHONDONTWRITEBYTECODE="1",
    )
    full_env.update(env or {})
    prelude = (
        "import json, sys\n"
        f"def emit(value):\n    print({_MARK!r} + json.dumps(value))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)], cwd=cwd, env=full_env, capture_output=True, text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        raise AssertionError(f"the subprocess failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    for line in proc.stdout.splitlines():
        if line.startswith(_MARK):
            return json.loads(line[len(_MARK):])
    raise AssertionError(f"the subprocess emitted nothing:\n{proc.stdout}\n{proc.stderr}")


# -- the fake distributions the discovery tests install ----------------------------------------

_RUNNER = """
import runnerkit


class {name}(runnerkit.IterBasedRunner):
    provider = {provider!r}
"""

FAKE_DISTS: tuple[FakeDist, ...] = (
    # A healthy third-party distribution: a runner, a constructor and a hook; one name clashes with beta.
    FakeDist(
        "alpha-runners", "1.2.3",
        entry_points={
            "runnerkit.runners": {
                "FastRunner": "alpha_runners.runners:FastRunner",
                "SharedRunner": "alpha_runners.runners:SharedRunner",
            },
            "runnerkit.constructors": {"AlphaConstructor": "alpha_runners.constructors:AlphaConstructor"},
            "runnerkit.hooks": {"AlphaHook": "alpha_runners.hooks:AlphaHook"},
        },
        files={
            "alpha_runners/runners.py": _RUNNER.format(name="FastRunner", provider="alpha")
            + _RUNNER.format(name="SharedRunner", provider="alpha"),
            "alpha_runners/constructors.py": """
                import runnerkit


                class AlphaConstructor(runnerkit.DefaultRunnerConstructor):
                    def __call__(self):
                        runner = super().__call__()
                        runner.built_by = "AlphaConstructor"
                        return runner
            """,
            "alpha_runners/hooks.py": """
                import runnerkit


                class AlphaHook(runnerkit.Hook):
                    def after_train_iter(self, runner):
                        pass
            """,
        },
        # A requirement behind an extra does not make it incompatible.
        dependencies=("runnerkit>=0.1",),
        optional={"future": ["runnerkit>=99"]},
    ),
    # Clashes with alpha, and carries components that cannot be loaded.
    FakeDist(
        "beta-runners", "2.0",
        entry_points={
            "runnerkit.runners": {
                "SharedRunner": "beta_runners.runners:SharedRunner",
                "MissingRunner": "beta_runners.missing:MissingRunner",
                "ExplodingRunner": "beta_runners.exploding:ExplodingRunner",
                "NotARunner": "beta_runners.runners:NotARunner",
            },
            "runnerkit.hooks": {"RunnerAsHook": "beta_runners.runners:SharedRunner"},
        },
        files={
            "beta_runners/runners.py": _RUNNER.format(name="SharedRunner", provider="beta") + "\n\nclass NotARunner:\n    pass\n",
            "beta_runners/exploding.py": "raise RuntimeError('beta exploded on import')\n",
        },
    ),
    # A pluggy plugin naming its components as strings.
    FakeDist(
        "gamma-plugin", "0.3",
        entry_points={"runnerkit.plugins": {"gamma": "gamma_plugin.plugin"}},
        files={
            "gamma_plugin/plugin.py": """
                import runnerkit


                @runnerkit.hookimpl
                def runnerkit_runners():
                    return {"GammaRunner": "gamma_plugin.runners:GammaRunner"}


                @runnerkit.hookimpl
                def runnerkit_hooks():
                    return {"GammaHook": "gamma_plugin.hooks:GammaHook"}
            """,
            "gamma_plugin/runners.py": _RUNNER.format(name="GammaRunner", provider="gamma"),
            "gamma_plugin/hooks.py": """
                import runnerkit


                class GammaHook(runnerkit.Hook):
                    pass
            """,
        },
    ),
    # A plugin module that fails to import; its entry-point runner still works.
    FakeDist(
        "broken-plugin", "0.1",
        entry_points={
            "runnerkit.plugins": {"broken": "broken_plugin.plugin"},
            "runnerkit.runners": {"IntactRunner": "broken_plugin.runners:IntactRunner"},
        },
        files={
            "broken_plugin/plugin.py": "raise RuntimeError('broken plugin module')\n",
            "broken_plugin/runners.py": _RUNNER.format(name="IntactRunner", provider="broken"),
        },
    ),
    # A plugin with a misspelled hook implementation (pluggy's check_pending rejects it).
    FakeDist(
        "typo-plugin", "0.1",
        entry_points={"runnerkit.plugins": {"typo": "typo_plugin.plugin"}},
        files={
            "typo_plugin/plugin.py": """
                import runnerkit


                @runnerkit.hookimpl
                def runnerkit_runnerz():
                    return {"TypoRunner": "typo_plugin.plugin:TypoRunner"}


                @runnerkit.hookimpl
                def runnerkit_hooks():
                    return {"TypoHook": "typo_plugin.plugin:TypoHook"}
            """,
        },
    ),
    # Requires a runnerkit that does not exist yet.
    FakeDist(
        "future-runners", "0.9",
        entry_points={
            "runnerkit.runners": {"FutureRunner": "future_runners.runners:FutureRunner"},
            "runnerkit.plugins": {"future": "future_runners.plugin"},
        },
        files={
            "future_runners/runners.py": _RUNNER.format(name="FutureRunner", provider="future"),
            "future_runners/plugin.py": "raise AssertionError('an incompatible plugin must not be imported')\n",
        },
        dependencies=("runnerkit>=99",),
    ),
)

#: the packages of FAKE_DISTS (and acme-runners), to check what a listing imported.
FAKE_PACKAGES = ("alpha_runners", "beta_runners", "gamma_plugin", "broken_plugin", "typo_plugin", "future_runners",
                 "acme_runners")

_SITE: dict[str, Path] = {}


def fake_site(factory: pytest.TempPathFactory) -> Path:
    """A folder holding :data:`FAKE_DISTS` and acme-runners, installed once per test process."""
    if "site" not in _SITE:
        scratch = factory.mktemp("fake-dists")
        _SITE["site"] = install(FAKE_DISTS, scratch / "site", scratch, extra=[ACME])
    return _SITE["site"]
