"""The public door: CONTRACT.md's names, a sorted and complete ``__all__``, a cheap import."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import runnerkit

CONTRACT_NAMES = {
    "build", "build_runner", "args_schema", "BaseRunner", "IterBasedRunner", "EpochBasedRunner",
    "DefaultRunnerConstructor", "Hook", "hookimpl", "register_plugin", "unregister_plugin",
    "UnknownComponentError", "AmbiguousComponentError", "PluginLoadError", "seed_everything",
}


def test_all_is_sorted_and_holds_every_contract_name() -> None:
    assert runnerkit.__all__ == sorted(runnerkit.__all__)
    assert set(runnerkit.__all__) >= CONTRACT_NAMES


def test_every_public_name_resolves() -> None:
    for name in runnerkit.__all__:
        assert getattr(runnerkit, name) is not None, name


def test_unknown_attributes_raise_attribute_error() -> None:
    try:
        runnerkit.NoSuchThing  # noqa: B018
    except AttributeError as err:
        assert "NoSuchThing" in str(err)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_importing_runnerkit_does_not_import_torch_or_pydantic() -> None:
    code = "import sys, runnerkit; print('torch' in sys.modules, 'pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_error_classes_form_one_tree() -> None:
    for cls in (runnerkit.UnknownComponentError, runnerkit.AmbiguousComponentError, runnerkit.PluginLoadError, runnerkit.ConfigError):
        assert issubclass(cls, runnerkit.RunnerkitError)
    assert issubclass(runnerkit.UnknownComponentError, KeyError)


PUBLIC_MODULES = sorted(
    ".".join(path.relative_to(Path(runnerkit.__file__).parent.parent).with_suffix("").parts)
    for path in Path(runnerkit.__file__).parent.rglob("*.py")
    if not any(part.startswith("_") for part in path.relative_to(Path(runnerkit.__file__).parent).parts)
)


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_every_public_module_declares_all_and_each_name_exists(module: str) -> None:
    mod = importlib.import_module(module)
    assert isinstance(getattr(mod, "__all__", None), list), f"{module} defines no __all__"
    missing = [name for name in mod.__all__ if not hasattr(mod, name)]
    assert not missing, f"{module}.__all__ names {missing}, which it does not define"
