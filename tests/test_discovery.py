"""Discovery as a user's fresh process sees it (CONTRACT.md sections 2-4), and its cache.

The fake distributions of :mod:`tests.plugin_helpers` are built and pip-installed into one folder
per test process; each check runs ``python -c`` with that folder on ``PYTHONPATH`` and reads the
answer back as JSON.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import runnerkit
from runnerkit import _cache, _discovery, _requirement
from tests.plugin_helpers import (
    ACME,
    FAKE_PACKAGES,
    FakeDist,
    age,
    build_wheel,
    fake_site,
    pip_install,
    run_python,
    write_project,
)

# Run first in every probe: counts real scans (a cache miss) and lists what was imported.
PROBE = f"""
import runnerkit
import runnerkit._discovery as _discovery

SCANS = []
_scan_uncached = _discovery._scan_uncached


def _counting(path):
    SCANS.append(1)
    return _scan_uncached(path)


_discovery._scan_uncached = _counting


def imported():
    return sorted(
        m for m in sys.modules
        if m.split(".")[0] in {FAKE_PACKAGES!r} or m == "runnerkit.hooks"
        or m.startswith(("runnerkit.hooks.", "runnerkit.runners", "torch"))
    )


def failure(call):
    try:
        obj = call()
    except Exception as err:
        cause = err.__cause__
        return {{"error": type(err).__name__, "message": str(err), "cause": type(cause).__name__ if cause else None,
                 "distribution": getattr(err, "distribution", None), "entry_point": getattr(err, "entry_point", None),
                 "key_error": isinstance(err, KeyError), "suggestions": getattr(err, "suggestions", None)}}
    return {{"loaded": getattr(obj, "__module__", "") + ":" + getattr(obj, "__qualname__", repr(obj))}}
"""

PLUGIN_MODULES = [
    "acme_runners", "acme_runners.plugin", "broken_plugin", "gamma_plugin", "gamma_plugin.plugin",
    "typo_plugin", "typo_plugin.plugin",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = fake_site(tmp_path_factory)
    age(path)
    return path


@pytest.fixture(scope="module")
def cwd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty working folder (``''`` on the child's sys.path), old enough for the cache to trust."""
    path = tmp_path_factory.mktemp("cwd")
    age(path)
    return path


@pytest.fixture
def probe(site: Path, cwd: Path, tmp_path: Path) -> Callable[..., Any]:
    """Run ``PROBE`` + code in a fresh process with the fake site installed; returns what it emits."""

    def run(code: str, *, env: dict[str, str] | None = None, path: list[Path] | None = None) -> Any:
        return run_python(PROBE + textwrap.dedent(code), path=path or [site], cache_dir=tmp_path / "cache", cwd=cwd, env=env)

    return run


def by_name(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        out.setdefault(rec["name"], []).append(rec)
    return out


# -- listing and lookup read metadata only ---------------------------------------------------


def test_listing_imports_no_component_module_and_not_torch(probe: Callable[..., Any]) -> None:
    out = probe("""
        records = runnerkit.Container().records()
        emit({"imported": imported(), "count": len(records)})
    """)
    # Only pluggy plugin modules are imported, to ask their hooks.
    assert out["imported"] == PLUGIN_MODULES
    assert out["count"] > 40


def test_looking_names_up_imports_nothing_more(probe: Callable[..., Any]) -> None:
    out = probe("""
        c = runnerkit.Container()
        found = [c.lookup(kind, name).target for kind, name in [
            ("runner", "FastRunner"), ("runner", "alpha-runners:SharedRunner"), ("runner", "GammaRunner"),
            ("runner", "IterBasedRunner"), ("hook", "CheckpointHook"), ("constructor", "AlphaConstructor"),
            ("runner", "MissingRunner"), ("runner", "FutureRunner"),
        ]]
        emit({"imported": imported(), "found": found})
    """)
    assert out["imported"] == PLUGIN_MODULES
    assert out["found"][0] == "alpha_runners.runners:FastRunner"


def test_every_component_carries_its_provenance(probe: Callable[..., Any]) -> None:
    out = probe("emit([r.to_json() for r in runnerkit.Container().records()])")
    found = by_name(out)
    base = {"compatible": True, "problem": None}
    assert found["FastRunner"] == [{
        "kind": "runner", "name": "FastRunner", "target": "alpha_runners.runners:FastRunner",
        "distribution": "alpha-runners", "version": "1.2.3", "source": "entry-point", **base}]
    assert found["GammaHook"] == [{
        "kind": "hook", "name": "GammaHook", "target": "gamma_plugin.hooks:GammaHook",
        "distribution": "gamma-plugin", "version": "0.3", "source": "plugin", **base}]
    assert found["AlphaConstructor"][0]["kind"] == "constructor"
    assert found["IterBasedRunner"] == [{
        "kind": "runner", "name": "IterBasedRunner", "target": "runnerkit.runners.iter_based:IterBasedRunner",
        "distribution": "runnerkit", "version": runnerkit.__version__, "source": "entry-point", **base}]
    assert found["SeededEpochRunner"][0]["source"] == "plugin"
    assert found["SeededEpochRunner"][0]["distribution"] == "acme-runners"


def test_built_ins_come_from_the_entry_points_of_the_runnerkit_distribution(probe: Callable[..., Any]) -> None:
    out = probe("emit([r.to_json() for r in runnerkit.Container().records() if r.distribution == 'runnerkit'])")
    declared = importlib.metadata.distribution("runnerkit").entry_points
    expected = sorted((ep.group, ep.name, ep.value) for ep in declared if ep.group.startswith("runnerkit."))
    groups = {"runner": "runnerkit.runners", "constructor": "runnerkit.constructors", "hook": "runnerkit.hooks"}
    assert sorted((groups[r["kind"]], r["name"], r["target"]) for r in out if r["kind"] in groups) == [
        e for e in expected if e[0] in groups.values()
    ]
    assert {r["source"] for r in out} == {"entry-point"}


# -- names -----------------------------------------------------------------------------------


def test_a_bare_name_two_distributions_provide_is_ambiguous_and_a_qualified_one_selects(probe: Callable[..., Any]) -> None:
    out = probe("""
        c = runnerkit.Container()
        emit({name: failure(lambda: c.lookup("runner", name).target) for name in [
            "SharedRunner", "alpha-runners:SharedRunner", "beta-runners:SharedRunner", "Beta_Runners:SharedRunner",
        ]})
    """)
    assert out["SharedRunner"]["error"] == "AmbiguousComponentError"
    assert out["SharedRunner"]["key_error"] is True
    assert out["SharedRunner"]["message"] == (
        "The runner name `SharedRunner` is ambiguous: it is provided by `alpha-runners` and `beta-runners`. "
        "Use a qualified name to pick one: `alpha-runners:SharedRunner`, `beta-runners:SharedRunner`."
    )
    # (lookup returns the record; loading it is checked in the tests below)
    assert out["alpha-runners:SharedRunner"] == {"loaded": ":'alpha_runners.runners:SharedRunner'"}
    assert out["beta-runners:SharedRunner"] == {"loaded": ":'beta_runners.runners:SharedRunner'"}
    assert out["Beta_Runners:SharedRunner"] == {"loaded": ":'beta_runners.runners:SharedRunner'"}


def test_an_unknown_name_is_a_key_error_with_the_closest_names(probe: Callable[..., Any]) -> None:
    out = probe("""
        c = runnerkit.Container()
        emit([failure(lambda: c.get("runner", "FastRuner")), failure(lambda: c.get("hook", "GamaHook"))])
    """)
    runner, hook = out
    assert (runner["error"], runner["key_error"]) == ("UnknownComponentError", True)
    assert runner["suggestions"][0] == "FastRunner"
    assert runner["message"].startswith("Unknown runner `FastRuner`. Did you mean `FastRunner`")
    assert hook["message"].startswith("Unknown hook `GamaHook`. Did you mean `GammaHook`")


# -- broken components and plugins -----------------------------------------------------------


@pytest.mark.slow
def test_a_component_that_cannot_be_loaded_fails_alone_naming_distribution_entry_point_and_cause(
    probe: Callable[..., Any],
) -> None:
    out = probe("""
        c = runnerkit.Container()
        before = len(c.records())
        results = {name: failure(lambda: c.get(kind, name)) for kind, name in [
            ("runner", "MissingRunner"), ("runner", "ExplodingRunner"), ("runner", "NotARunner"),
            ("hook", "RunnerAsHook"), ("runner", "FastRunner"), ("hook", "AlphaHook"),
        ]}
        emit({"results": results, "listed": [before, len(c.records())]})
    """)
    res = out["results"]
    assert res["MissingRunner"] == {
        "error": "PluginLoadError",
        "message": "Cannot load `MissingRunner = beta_runners.missing:MissingRunner (group `runnerkit.runners`)` from "
        "distribution `beta-runners`: importing `beta_runners.missing:MissingRunner` failed: "
        "ModuleNotFoundError(\"No module named 'beta_runners.missing'\")",
        "cause": "ModuleNotFoundError", "distribution": "beta-runners",
        "entry_point": "MissingRunner = beta_runners.missing:MissingRunner (group `runnerkit.runners`)",
        "key_error": False, "suggestions": None,
    }
    assert res["ExplodingRunner"]["cause"] == "RuntimeError"
    assert res["ExplodingRunner"]["message"].endswith("failed: RuntimeError('beta exploded on import')")
    assert res["NotARunner"]["message"] == (
        "Cannot load `NotARunner = beta_runners.runners:NotARunner (group `runnerkit.runners`)` from distribution "
        "`beta-runners`: a runner must be a subclass of `runnerkit.BaseRunner`, got NotARunner"
    )
    assert res["RunnerAsHook"]["message"].endswith("a hook must be a subclass of `runnerkit.Hook`, got SharedRunner")
    assert res["FastRunner"] == {"loaded": "alpha_runners.runners:FastRunner"}
    assert res["AlphaHook"] == {"loaded": "alpha_runners.hooks:AlphaHook"}
    assert out["listed"][0] == out["listed"][1]


@pytest.mark.slow
def test_plugins_that_fail_are_reported_in_problems_and_the_others_keep_working(probe: Callable[..., Any]) -> None:
    out = probe("""
        c = runnerkit.Container()
        problems = [{"distribution": p.distribution, "entry_point": p.entry_point, "message": str(p),
                     "cause": type(p.__cause__).__name__ if p.__cause__ else None} for p in c.problems]
        emit({"problems": problems, "names": sorted({r.name for r in c.records()}),
              "gamma": failure(lambda: c.get("runner", "GammaRunner")),
              "intact": failure(lambda: c.get("runner", "IntactRunner"))})
    """)
    broken, future, typo = out["problems"]
    assert broken == {
        "distribution": "broken-plugin", "entry_point": "broken = broken_plugin.plugin (group `runnerkit.plugins`)",
        "message": "Cannot load `broken = broken_plugin.plugin (group `runnerkit.plugins`)` from distribution "
        "`broken-plugin`: importing `broken_plugin.plugin` failed: RuntimeError('broken plugin module')",
        "cause": "RuntimeError",
    }
    # A misspelled hook implementation: pluggy's check_pending rejects the whole plugin.
    assert typo["distribution"] == "typo-plugin"
    assert typo["cause"] == "PluginValidationError"
    assert "invalid pluggy plugin: unknown hook 'runnerkit_runnerz' in plugin" in typo["message"]
    assert "TypoHook" not in out["names"]
    assert future["message"].startswith("Cannot load `future = future_runners.plugin (group `runnerkit.plugins`)` from "
                                        "distribution `future-runners`: it requires `runnerkit>=99`")
    # Plugins after the broken one in the scan, and the broken distribution's entry points, still work.
    assert out["gamma"] == {"loaded": "gamma_plugin.runners:GammaRunner"}
    assert out["intact"] == {"loaded": "broken_plugin.runners:IntactRunner"}


def test_a_distribution_requiring_another_runnerkit_is_listed_as_incompatible_and_not_built(
    probe: Callable[..., Any],
) -> None:
    out = probe("""
        c = runnerkit.Container()
        future = [r.to_json() for r in c.records() if r.distribution == "future-runners"]
        alpha = {r.incompatible for r in c.records() if r.distribution == "alpha-runners"}
        emit({"future": future, "alpha": sorted(map(str, alpha)), "build": failure(lambda: c.get("runner", "FutureRunner")),
              "imported": imported()})
    """)
    needs = (
        f"it requires `runnerkit>=99` but runnerkit {runnerkit.__version__} is installed; install a runnerkit that "
        f"matches (`pip install \"runnerkit>=99\"`) or a version of `future-runners` that supports runnerkit "
        f"{runnerkit.__version__}"
    )
    assert out["future"] == [{
        "kind": "runner", "name": "FutureRunner", "target": "future_runners.runners:FutureRunner",
        "distribution": "future-runners", "version": "0.9", "source": "entry-point", "compatible": False,
        "problem": needs,
    }]
    assert out["build"]["error"] == "PluginLoadError"
    assert out["build"]["message"] == (
        "Cannot load `FutureRunner = future_runners.runners:FutureRunner (group `runnerkit.runners`)` from "
        f"distribution `future-runners`: {needs}"
    )
    # A requirement behind an extra (`runnerkit>=99; extra == "future"`) does not count.
    assert out["alpha"] == ["None"]
    assert not any(m.startswith("future_runners") for m in out["imported"])


# -- switches and run-time plugins -----------------------------------------------------------


def test_autoload_off_reads_no_third_party_entry_point(probe: Callable[..., Any]) -> None:
    out = probe("""
        class Late:
            @runnerkit.hookimpl
            def runnerkit_runners(self):
                return {"LateRunner": "late.mod:LateRunner"}

        c = runnerkit.Container()
        before = sorted({r.distribution for r in c.records()})
        runnerkit.register_plugin(Late())
        emit({"dists": before, "problems": len(c.problems), "imported": imported(),
              "late": runnerkit.default_container().lookup("runner", "LateRunner").source})
    """, env={"RUNNERKIT_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert out == {"dists": ["runnerkit"], "problems": 0, "imported": [], "late": "plugin"}


def test_disabled_distributions_are_ignored_by_name(probe: Callable[..., Any]) -> None:
    out = probe("""
        c = runnerkit.Container()
        emit({"dists": sorted({r.distribution for r in c.records()}), "imported": imported(),
              "shared": c.lookup("runner", "SharedRunner").distribution,
              "problems": sorted(p.distribution for p in c.problems)})
    """, env={"RUNNERKIT_DISABLE_PLUGINS": " Beta_Runners, gamma-plugin,typo.plugin ,,"})
    assert out["dists"] == ["acme-runners", "alpha-runners", "broken-plugin", "future-runners", "runnerkit"]
    assert out["shared"] == "alpha-runners"  # no longer ambiguous
    assert not any(m.startswith(("gamma_plugin", "typo_plugin")) for m in out["imported"])
    assert out["problems"] == ["broken-plugin", "future-runners"]


@pytest.mark.slow
def test_run_time_plugins_and_third_party_constructors_work_from_a_fresh_process(probe: Callable[..., Any]) -> None:
    out = probe("""
        import torch

        class Net(torch.nn.Module):
            def train_step(self, data_batch, optimizer, **kwargs):
                return {}

        class Extra:
            @runnerkit.hookimpl
            def runnerkit_runners(self):
                return {"ExtraRunner": "gamma_plugin.runners:GammaRunner"}

        extra = Extra()
        runnerkit.register_plugin(extra)
        runner = runnerkit.build(dict(type="ExtraRunner", constructor="AlphaConstructor", max_iters=2),
                                 default_args=dict(model=Net()))
        built = [type(runner).__module__, runner.built_by, runner.max_iters]
        runnerkit.unregister_plugin(extra)
        emit({"built": built, "after": failure(lambda: runnerkit.build(dict(type="ExtraRunner"), dict(model=Net()))),
              "acme": type(runnerkit.build_runner(dict(type="SeededIterRunner", seed=3, max_iters=1),
                                                  dict(model=Net()))).__name__})
    """)
    assert out["built"] == ["gamma_plugin.runners", "AlphaConstructor", 2]
    assert out["after"]["error"] == "UnknownComponentError"
    assert out["acme"] == "SeededIterRunner"


def test_runnerkit_list_json_shows_the_provenance_and_never_imports_torch(site: Path, cwd: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNNERKIT_")}
    env.update(PYTHONPATH=str(site), RUNNERKIT_CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "runnerkit", "list", "--json"],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    listed = json.loads(proc.stdout)
    fast = next(r for r in listed if r["name"] == "FastRunner")
    assert {k: fast[k] for k in ("kind", "name", "target", "distribution", "version", "source")} == {
        "kind": "runner", "name": "FastRunner", "target": "alpha_runners.runners:FastRunner",
        "distribution": "alpha-runners", "version": "1.2.3", "source": "entry-point"}
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "runnerkit._discovery" in imported
    assert not {m for m in imported if m == "torch" or m.startswith("torch.")}


@pytest.mark.slow
def test_the_example_plugin_passes_its_own_tests_once_installed(site: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNNERKIT_", "PYTEST_"))}
    env.update(PYTHONPATH=str(site), RUNNERKIT_CACHE_DIR=str(tmp_path / "cache"), PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "tests"],
        cwd=ACME, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " passed" in proc.stdout.splitlines()[-1]
    assert "failed" not in proc.stdout.splitlines()[-1]


# -- the cache, from fresh processes ---------------------------------------------------------

LIST = """
records = [r.to_json() for r in runnerkit.Container().records() if r.distribution != "runnerkit"]
emit({"scanned": len(SCANS), "records": records})
"""


def late_dist(version: str) -> FakeDist:
    return FakeDist(
        "late-runners", version,
        entry_points={"runnerkit.runners": {"LateRunner": "late_runners:LateRunner"}},
        files={"late_runners/__init__.py": "import runnerkit\n\nclass LateRunner(runnerkit.IterBasedRunner):\n    pass\n"},
    )


@pytest.mark.slow
def test_the_cache_notices_an_install_and_an_uninstall_and_keeps_provenance(
    probe: Callable[..., Any], site: Path, tmp_path: Path
) -> None:
    late = tmp_path / "late"
    late.mkdir()
    scratch = tmp_path / "scratch"
    wheels = {v: build_wheel(write_project(late_dist(v), scratch / v), scratch / "wheels") for v in ("1.0", "2.0")}
    age(late)

    def listing() -> tuple[int, list[dict[str, Any]]]:
        out = probe(LIST, path=[late, site])
        return out["scanned"], [r for r in out["records"] if r["name"] == "LateRunner"]

    assert listing() == (1, [])  # cold: scans and writes the cache
    assert listing() == (0, [])  # warm: nothing changed, the cache is used

    pip_install([wheels["1.0"]], late)
    provenance = {
        "kind": "runner", "name": "LateRunner", "target": "late_runners:LateRunner", "distribution": "late-runners",
        "version": "1.0", "source": "entry-point", "compatible": True, "problem": None,
    }
    assert listing() == (1, [provenance])  # the install changed the folder: scanned again
    age(late, *late.glob("*.dist-info/entry_points.txt"))
    assert listing() == (1, [provenance])
    assert listing() == (0, [provenance])  # from the cache, provenance included

    shutil.rmtree(late / "late_runners-1.0.dist-info")
    shutil.rmtree(late / "late_runners")
    assert listing() == (1, [])  # uninstalled: gone

    pip_install([wheels["2.0"]], late)
    age(late, *late.glob("*.dist-info/entry_points.txt"))
    assert listing() == (1, [{**provenance, "version": "2.0"}])
    assert listing() == (0, [{**provenance, "version": "2.0"}])


# -- the cache, in this process --------------------------------------------------------------


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The paths that were really scanned (cache misses)."""
    calls: list[list[str]] = []
    real = _discovery._scan_uncached

    def counting(path: list[str]) -> list[_discovery.EntryRecord]:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(_discovery, "_scan_uncached", counting)
    return calls


@pytest.fixture
def old_dir(tmp_path: Path) -> Path:
    path = tmp_path / "entries"
    path.mkdir()
    age(path)
    return path


def test_a_second_scan_of_an_unchanged_path_reads_the_cache(scans: list[list[str]], old_dir: Path, site: Path) -> None:
    first = _discovery.scan([str(old_dir), str(site)])
    second = _discovery.scan([str(old_dir), str(site)])
    assert len(scans) == 1
    assert second == first
    assert {e["dist"] for e in second} == {"acme-runners", "alpha-runners", "beta-runners", "broken-plugin",
                                            "future-runners", "gamma-plugin", "typo-plugin"}


def test_a_folder_changed_just_before_the_cache_was_written_is_not_trusted(scans: list[list[str]], tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    fresh.mkdir()  # modified now: an install could follow within its timestamp granularity
    _discovery.scan([str(fresh)])
    _discovery.scan([str(fresh)])
    assert len(scans) == 2
    age(fresh)
    _discovery.scan([str(fresh)])
    _discovery.scan([str(fresh)])
    assert len(scans) == 3


def test_a_changed_folder_makes_the_cache_stale(scans: list[list[str]], old_dir: Path) -> None:
    _discovery.scan([str(old_dir)])
    (old_dir / "x.dist-info").mkdir()
    age(old_dir, seconds=1800)
    _discovery.scan([str(old_dir)])
    assert len(scans) == 2


def test_the_cache_can_be_turned_off(scans: list[list[str]], old_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                     tmp_path: Path) -> None:
    monkeypatch.setenv("RUNNERKIT_NO_CACHE", "1")
    monkeypatch.setenv("RUNNERKIT_CACHE_DIR", str(tmp_path / "never"))
    _discovery.scan([str(old_dir)])
    _discovery.scan([str(old_dir)])
    assert len(scans) == 2
    assert not (tmp_path / "never").exists()
    assert _cache.cache_dir() is None


def test_the_default_cache_folder_follows_xdg_cache_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("RUNNERKIT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert _cache.cache_dir() == str(tmp_path / "runnerkit")


def test_a_corrupt_cache_file_is_ignored_and_rewritten(scans: list[list[str]], old_dir: Path) -> None:
    _discovery.scan([str(old_dir)])
    folder = Path(str(_cache.cache_dir()))
    (cache_file,) = folder.glob("discovery-*.json")
    cache_file.write_text("{not json")
    _discovery.scan([str(old_dir)])
    assert json.loads(cache_file.read_text())["payload"] == []
    _discovery.scan([str(old_dir)])
    assert len(scans) == 2


def test_an_unwritable_cache_folder_only_makes_discovery_slower(
    scans: list[list[str]], old_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("RUNNERKIT_CACHE_DIR", str(blocker / "cache"))
    assert _discovery.scan([str(old_dir)]) == []
    assert _discovery.scan([str(old_dir)]) == []
    assert len(scans) == 2


def test_another_runnerkit_version_does_not_read_the_cache(old_dir: Path) -> None:
    _cache.store([str(old_dir)], "0.0-other", _cache.path_state([str(old_dir)]), ["stale"])
    assert _cache.load([str(old_dir)], "0.0-other") == ["stale"]
    assert _cache.load([str(old_dir)], "0.1-mine") is None


def test_relative_path_entries_are_keyed_by_their_absolute_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("a", "b"):
        (tmp_path / name / "plugins").mkdir(parents=True)
        age(tmp_path / name / "plugins")
    monkeypatch.chdir(tmp_path / "a")
    _cache.store(["plugins", ""], "salt", _cache.path_state(["plugins", ""]), ["from a"])
    age(tmp_path / "a", tmp_path / "b")
    assert _cache.load(["plugins", ""], "salt") is None  # tmp_path/a itself changed (aged) since the write
    _cache.store(["plugins", ""], "salt", _cache.path_state(["plugins", ""]), ["from a"])
    assert _cache.load(["plugins", ""], "salt") == ["from a"]
    monkeypatch.chdir(tmp_path / "b")
    assert _cache.load(["plugins", ""], "salt") is None


# -- the cache is the user's own ----------------------------------------------------------------


def _cache_file() -> Path:
    (found,) = Path(str(_cache.cache_dir())).glob("discovery-*.json")
    return found


def test_the_cache_folder_is_created_private_and_its_files_are_the_users_only(
    old_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RUNNERKIT_CACHE_DIR", str(tmp_path / "deep" / "cache"))
    _discovery.scan([str(old_dir)])
    assert (tmp_path / "deep" / "cache").stat().st_mode & 0o777 == 0o700
    assert _cache_file().stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("which", ["folder", "file"])
@pytest.mark.parametrize("mode", [0o770, 0o707])
def test_a_cache_writable_by_group_or_others_is_ignored(
    scans: list[list[str]], old_dir: Path, which: str, mode: int
) -> None:
    _discovery.scan([str(old_dir)])
    if which == "file":
        _cache_file().chmod(mode & 0o066 | 0o600)
        assert _discovery.scan([str(old_dir)]) == []
        assert len(scans) == 2  # not read, and no error ...
        assert _cache_file().stat().st_mode & 0o777 == 0o600  # ... but replaced by a private one
        _discovery.scan([str(old_dir)])
        assert len(scans) == 2
        return
    _cache_file().parent.chmod(mode)
    assert _discovery.scan([str(old_dir)]) == []
    assert _discovery.scan([str(old_dir)]) == []
    assert len(scans) == 3  # never read nor written while others can write there, and no error
    _cache_file().parent.chmod(0o700)
    _discovery.scan([str(old_dir)])
    assert len(scans) == 3


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="changing a file's owner needs root")
@pytest.mark.parametrize("which", ["folder", "file"])
def test_a_cache_owned_by_another_user_is_ignored(scans: list[list[str]], old_dir: Path, which: str) -> None:
    import pwd

    nobody = pwd.getpwnam("nobody")
    _discovery.scan([str(old_dir)])
    target = _cache_file() if which == "file" else _cache_file().parent
    os.chown(target, nobody.pw_uid, nobody.pw_gid)
    assert _discovery.scan([str(old_dir)]) == []
    assert len(scans) == 2
    os.chown(target, os.geteuid(), os.getegid())
    _discovery.scan([str(old_dir)])
    assert len(scans) == 2


@pytest.mark.parametrize(
    "payload",
    [
        {"not": "a list"},
        [1, 2],
        [{"group": "runnerkit.runners"}],
        [{"group": "runnerkit.runners", "name": "X", "value": "m:X", "dist": "d", "version": 3, "incompatible": None,
          "source": ""}],
        [{"group": "not.runnerkit", "name": "X", "value": "m:X", "dist": "d", "version": "1", "incompatible": None,
          "source": ""}],
        [{"group": "runnerkit.runners", "name": "X", "value": "m:X", "dist": "d", "version": "1", "incompatible": 5,
          "source": ""}],
    ],
)
def test_a_cached_payload_of_the_wrong_shape_is_a_miss(scans: list[list[str]], old_dir: Path, payload: Any) -> None:
    _discovery.scan([str(old_dir)])
    cache_file = _cache_file()
    stored = json.loads(cache_file.read_text())
    stored["payload"] = payload
    cache_file.write_text(json.dumps(stored))
    assert _discovery.scan([str(old_dir)]) == []
    assert len(scans) == 2


def _write_dist(folder: Path, runners: dict[str, str]) -> Path:
    info = folder / "inplace-1.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: inplace\nVersion: 1.0\n\n")
    lines = "".join(f"{name} = {value}\n" for name, value in runners.items())
    (info / "entry_points.txt").write_text(f"[runnerkit.runners]\n{lines}")
    return info


def test_editing_a_runnerkit_distributions_entry_points_in_place_is_noticed(scans: list[list[str]], tmp_path: Path) -> None:
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    info = _write_dist(site_dir, {"OldRunner": "inplace:OldRunner"})
    age(info / "entry_points.txt", info / "METADATA", info, site_dir)
    assert [e["name"] for e in _discovery.scan([str(site_dir)])] == ["OldRunner"]
    assert [e["name"] for e in _discovery.scan([str(site_dir)])] == ["OldRunner"]
    assert len(scans) == 1
    # Rewritten in place: no folder changes, only the file (aged, so that it is not merely racy).
    _write_dist(site_dir, {"OldRunner": "inplace:OldRunner", "NewRunner": "inplace:NewRunner"})
    age(info / "entry_points.txt", seconds=1800)
    age(info, site_dir)
    assert [e["name"] for e in _discovery.scan([str(site_dir)])] == ["OldRunner", "NewRunner"]
    assert len(scans) == 2
    assert [e["name"] for e in _discovery.scan([str(site_dir)])] == ["OldRunner", "NewRunner"]
    assert len(scans) == 2


def test_old_cache_files_and_leftover_temporaries_are_pruned(old_dir: Path) -> None:
    folder = Path(str(_cache.cache_dir()))
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(_cache.KEEP_FILES + 8):
        (folder / f"discovery-{i:016x}.json").write_text("{}")
        age(folder / f"discovery-{i:016x}.json", seconds=3600 + i)
    (folder / "discovery-ancient.json").write_text("{}")
    age(folder / "discovery-ancient.json", seconds=_cache.MAX_AGE_S + 10)
    (folder / "discovery-x.json.123.456.tmp").write_text("half")
    age(folder / "discovery-x.json.123.456.tmp", seconds=_cache.TMP_AGE_S + 10)
    (folder / "discovery-y.json.123.789.tmp").write_text("a write in progress")
    (folder / "unrelated.txt").write_text("kept")
    _discovery.scan([str(old_dir)])
    names = sorted(p.name for p in folder.iterdir())
    assert len([n for n in names if n.endswith(".json")]) == _cache.KEEP_FILES
    assert "discovery-ancient.json" not in names
    assert "discovery-x.json.123.456.tmp" not in names
    assert "discovery-y.json.123.789.tmp" in names and "unrelated.txt" in names
    # the newest of the old files are the ones kept, with the new one
    assert f"discovery-{0:016x}.json" in names and f"discovery-{_cache.KEEP_FILES + 7:016x}.json" not in names


# -- the scanner against importlib.metadata --------------------------------------------------


def reference(path: list[str]) -> list[tuple[str, str, str, str, str]]:
    """What importlib.metadata finds on ``path`` (the first distribution of a name wins)."""
    seen: set[str] = set()
    out = []
    for dist in importlib.metadata.distributions(path=path):
        key = runnerkit._records.normalize_dist(dist.metadata["Name"])
        if key in seen:
            continue
        seen.add(key)
        out += [(ep.group, ep.name, ep.value, dist.metadata["Name"], dist.version)
                for ep in dist.entry_points if ep.group in _discovery.GROUPS]
    return sorted(out)


def scanned(path: list[str]) -> list[tuple[str, str, str, str, str]]:
    return sorted((e["group"], e["name"], e["value"], e["dist"], e["version"]) for e in _discovery._scan_uncached(path))


def test_the_scanner_finds_what_importlib_metadata_finds(site: Path) -> None:
    path = [str(site), *sys.path]
    assert scanned(path) == reference(path)
    assert len(scanned(path)) > 40


def test_egg_info_folders_and_zip_files_on_the_path_are_read(tmp_path: Path) -> None:
    eggs = tmp_path / "eggs"
    info = eggs / "old_style.egg-info"
    info.mkdir(parents=True)
    (info / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: old-style\nVersion: 0.5\n")
    (info / "entry_points.txt").write_text("[runnerkit.hooks]\nOldHook = old_style.hooks:OldHook\n")
    (info / "requires.txt").write_text("packaging\n\n[:python_version >= '3']\nrunnerkit>=50\n")
    zipped = tmp_path / "zipped.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("zipped_dist-2.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: zipped-dist\nVersion: 2.0\n")
        zf.writestr("zipped_dist-2.0.dist-info/entry_points.txt", "[runnerkit.runners]\nZipRunner = zipped:ZipRunner\n")
    path = [str(eggs), str(zipped)]
    assert scanned(path) == reference(path) == [
        ("runnerkit.hooks", "OldHook", "old_style.hooks:OldHook", "old-style", "0.5"),
        ("runnerkit.runners", "ZipRunner", "zipped:ZipRunner", "zipped-dist", "2.0"),
    ]
    (old,) = [e for e in _discovery._scan_uncached(path) if e["dist"] == "old-style"]
    assert str(old["incompatible"]).startswith("it requires `runnerkit>=50`")


def test_the_first_distribution_of_a_name_on_the_path_wins(site: Path, tmp_path: Path) -> None:
    shadow = tmp_path / "shadow" / "alpha_runners-9.9.dist-info"
    shadow.mkdir(parents=True)
    (shadow / "METADATA").write_text("Metadata-Version: 2.1\nName: Alpha_Runners\nVersion: 9.9\n")
    (shadow / "entry_points.txt").write_text("[runnerkit.runners]\nFastRunner = shadow:FastRunner\n")
    for path in ([str(site), str(shadow.parent)], [str(shadow.parent), str(site)]):
        assert scanned(path) == reference(path)
    assert {e["version"] for e in _discovery._scan_uncached([str(shadow.parent), str(site)]) if e["name"] == "FastRunner"} == {"9.9"}


def test_entry_point_values_lose_extras_and_spaces() -> None:
    text = (
        "# a comment\n[console_scripts]\nrk = runnerkit.cli:main\n\n[runnerkit.runners]\n"
        "  Spaced  =  pkg.mod : Cls  \nWithExtras = pkg.mod:Other [cuda, fast]\n; ignored\nno_equals_sign\n"
        "[runnerkit.plugins]\nplug = pkg.plugin\n"
    )
    assert list(_discovery.parse_entry_points(text)) == [
        ("runnerkit.runners", "Spaced", "pkg.mod:Cls"),
        ("runnerkit.runners", "WithExtras", "pkg.mod:Other"),
        ("runnerkit.plugins", "plug", "pkg.plugin"),
    ]


# -- requirements on runnerkit ---------------------------------------------------------------

REQUIREMENTS = [
    "runnerkit", "runnerkit>=0.1", "runnerkit>=99", "runnerkit >= 0.1, < 2", "runnerkit<0.1", "runnerkit==0.1",
    "runnerkit!=0.1.0", "runnerkit>0.1", "runnerkit<=0.1", "runnerkit>0.0.9", "runnerkit~=0.1", "runnerkit==0.*",
    'runnerkit>=99; extra == "x"', 'runnerkit>=99; python_version > "3"', "runnerkit[plot]>=99",
    "runnerkit_extras>=99", "runnerkit (>=99)", "RunnerKit>=99", "runnerkit>=1.0rc1", "runnerkit===0.1.0",
    "runnerkit==0.1.0+local",
]


@pytest.mark.parametrize("version", ["0.1.0", "0.1", "2.0", "0.2.0.dev1"])
@pytest.mark.parametrize("line", REQUIREMENTS)
def test_a_requirement_on_runnerkit_is_judged_as_packaging_does(line: str, version: str) -> None:
    from packaging.requirements import Requirement

    req = Requirement(line)
    admitted = (
        runnerkit._records.normalize_dist(req.name) != "runnerkit"
        or (req.marker is not None and not req.marker.evaluate({"extra": ""}))
        or req.specifier.contains(version, prereleases=True)
    )
    problem = _requirement.incompatibility("acme", [line], version)
    assert (problem is None) == admitted
    if problem is not None:
        assert problem.startswith("it requires `runnerkit")
        assert f"` but runnerkit {version} is installed; install a runnerkit that matches" in problem


def test_plain_requirements_are_judged_without_importing_packaging() -> None:
    code = (
        "import sys\nfrom runnerkit._requirement import incompatibility\n"
        "assert incompatibility('a', ['runnerkit>=0.1,<2', 'torch>=2', 'runnerkit'], '0.1.0') is None\n"
        "assert incompatibility('a', ['runnerkit>=99'], '0.1.0').startswith('it requires `runnerkit>=99`')\n"
        "print(sorted(m for m in sys.modules if m.startswith('packaging')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
