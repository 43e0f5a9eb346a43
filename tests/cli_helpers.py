"""Running the real ``runnerkit`` console script (and the CLI in-process) for the CLI tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from tests import processes

#: the console script pip installed next to this interpreter.
SCRIPT = Path(sys.executable).with_name("runnerkit")


def runnerkit(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None, path: Sequence[Path] = (), timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """Run ``runnerkit ARGS`` in ``cwd``; ``path`` goes first on ``PYTHONPATH``."""
    assert SCRIPT.exists(), f"the console script {SCRIPT} is missing; install runnerkit with `pip install -e .`"
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join(str(p) for p in path)
    full_env.pop("RUNNERKIT_DEBUG", None)
    full_env.update(env or {})
    return processes.run([SCRIPT, *args], cwd=cwd, env=full_env, timeout=timeout)  # its process group ends with it


def main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI in this process: ``(exit code, stdout, stderr)``."""
    from runnerkit.cli import main as cli_main

    code = cli_main(list(args))
    out, err = capsys.readouterr()
    return code, out, err
