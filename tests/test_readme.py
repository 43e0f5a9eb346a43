"""The README's quick start works as written: its commands, in order, in a fresh directory."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli_helpers import runnerkit
from tests.readme_commands import README, Step, matches, quoted_validate_output, readme_steps, run_all

ROOT = README.parent


def test_the_readme_steps_are_the_quick_start_in_order() -> None:
    steps = readme_steps(README.read_text(encoding="utf-8"))
    assert [s.args[:2] for s in steps] == [["demo"], ["plot", "work_dirs/demo"], ["list"],
                                           ["validate", "docs/examples/broken.py"], ["run", "docs/examples/demo.py"]]
    assert [s.code for s in steps] == [0, 0, 0, 1, 0]
    assert len(steps[3].quoted) == 7


def test_an_abridged_line_matches_its_beginning_only() -> None:
    assert matches("a: b ...", "a: b and more")
    assert not matches("a: b ...", "a: c")
    assert not matches("a: b", "a: b and more")


def test_the_readmes_quoted_validate_output_is_what_validate_prints(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "docs" / "examples", tmp_path / "docs" / "examples")
    proc = runnerkit("validate", "docs/examples/broken.py", cwd=tmp_path)
    quoted = quoted_validate_output(README.read_text(encoding="utf-8"))
    printed = [line for line in proc.stdout.splitlines() if line]
    assert proc.returncode == 1 and len(printed) == len(quoted)
    assert all(matches(q, p) for q, p in zip(quoted, printed)), f"README quotes:\n{chr(10).join(quoted)}\nprinted:\n{proc.stdout}"


@pytest.mark.slow
def test_every_readme_command_works_in_the_order_written_in_a_fresh_directory(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "docs" / "examples", tmp_path / "docs" / "examples")
    outputs: list[subprocess.CompletedProcess[str]] = []

    def run(args: list[str]) -> subprocess.CompletedProcess[str]:
        outputs.append(runnerkit(*args, cwd=tmp_path, timeout=300))
        return outputs[-1]

    steps = readme_steps(README.read_text(encoding="utf-8"))
    assert run_all(steps, run) == []
    demo, plot, _, _, again = outputs
    text_log = next((tmp_path / "work_dirs" / "demo").glob("*.log")).name
    assert f"  text log:    work_dirs/demo/{text_log}\n" in demo.stdout  # the summary lists the text log
    assert plot.stdout.startswith("Wrote work_dirs/demo/") and list((tmp_path / "work_dirs" / "demo").glob("*.png"))
    assert "  work dir:    work_dirs/demo_config\n" in again.stdout
    assert (tmp_path / "work_dirs" / "demo_config" / "iter_600.pth").is_file()


def test_a_step_that_exits_otherwise_or_prints_otherwise_is_reported() -> None:
    step = Step(["validate", "x.py"], code=1, quoted=("x.py:2: model ...",))
    ok = subprocess.CompletedProcess(["runnerkit"], 1, "x.py:2: model is bad\n", "")
    assert run_all([step], lambda args: ok) == []
    silent = subprocess.CompletedProcess(["runnerkit"], 1, "nothing\n", "")
    assert "does not print the README's line 'x.py:2: model ...'" in run_all([step], lambda args: silent)[0]
    failed = subprocess.CompletedProcess(["runnerkit"], 0, "", "")
    assert run_all([step], lambda args: failed)[0].startswith("`runnerkit validate x.py` exited 0, expected 1")
