"""The generated reference pages in docs/ match the code (``python docs/gen_reference.py`` rewrites them)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_reference", DOCS / "gen_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("page", ["config-reference.md", "hooks.md", "cli.md"])
def test_a_generated_page_is_up_to_date(page: str) -> None:
    if page == "cli.md" and sys.version_info[:2] != (3, 11):
        pytest.skip("argparse's help layout differs between Python versions; cli.md is generated on 3.11")
    expected = generator().PAGES[page]()
    committed = (DOCS / page).read_text(encoding="utf-8")
    assert committed == expected, f"docs/{page} is stale; run `python docs/gen_reference.py` and commit the result"


def test_the_config_reference_describes_every_field_of_every_section() -> None:
    from runnerkit.job import DataConfig, JobConfig, LogConfig

    text = (DOCS / "config-reference.md").read_text(encoding="utf-8")
    for model in (JobConfig, DataConfig, LogConfig):
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"
            assert f"| `{name}` |" in text


def test_docstrings_become_markdown_without_the_args_section() -> None:
    doc = '''Do a thing with ``x``, see :class:`Other`.

    Args:
        x: the thing.

    Example:
        >>> do(1)
    '''
    assert generator().docstring_markdown(doc) == "Do a thing with `x`, see `Other`.\n\n```python\n>>> do(1)\n```"


REPO = DOCS.parent


def bash_blocks(text: str) -> list[str]:
    import re

    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", text, re.S)]


def test_the_readme_starts_with_the_demo_command_and_cis_exact_test_command() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    first, second = bash_blocks(readme)[:2]
    assert first == ("python -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 && pip install -e . "
                     "&& runnerkit demo")
    commands = second.splitlines()
    assert any("ruff check" in c for c in commands) and any("mypy" in c for c in commands)  # CI lints and types too
    ci = [line for line in (REPO / ".ci" / "run").read_text().splitlines() if line.startswith("python -m ")]
    assert [line for line in ci if "pip install -q --upgrade pip" not in line] == commands


def test_the_example_demo_config_is_the_demo_commands_config() -> None:
    from runnerkit.config import load_config
    from runnerkit.demo import DEMO_CONFIG

    cfg = load_config(DOCS / "examples" / "demo.py")
    assert cfg.pop("work_dir") == "work_dirs/demo_config"  # not `runnerkit demo`'s work_dirs/demo: README runs both
    assert cfg == DEMO_CONFIG


def test_the_broken_example_shows_every_kind_of_mistake(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.cli_helpers import main

    code, out, _ = main(capsys, "validate", str(DOCS / "examples" / "broken.py"))
    assert code == 1
    keys = [line.split(": ", 2)[1] for line in out.splitlines() if line.startswith(str(DOCS))][:-1]
    assert keys == ["model.hiden", "data.sample_per_gpu", "optimizer.type", "lr_config.policy", "runner",
                    "custom_hooks[0].type"]
