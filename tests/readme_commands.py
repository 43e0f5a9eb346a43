"""The README's commands, in the order it gives them, and a runner that runs them as a new user would.

``readme_steps(README)`` reads the quick start (the first command's ``runnerkit demo``, then every
line of the "Then:" block) with what each must do: exit 0, except ``runnerkit validate`` on the
broken example, which exits 1 and prints what the README quotes. ``python tests/readme_commands.py``
runs them in the current directory (CI does, in its fresh README-install environment, after the
README's own ``pip install``s); tests/test_readme.py runs them in a fresh temporary directory.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


@dataclass(frozen=True)
class Step:
    """One README command: its arguments, the exit code it must end with, and the lines its output must show."""

    args: list[str]
    code: int = 0
    quoted: tuple[str, ...] = ()


def _bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, re.S)


def quoted_validate_output(text: str) -> tuple[str, ...]:
    """The lines the README quotes as ``runnerkit validate``'s output on the broken example."""
    section = text.split("`runnerkit validate` on the broken example prints", 1)[1]
    return tuple(re.search(r"```text\n(.*?)```", section, re.S).group(1).splitlines())  # type: ignore[union-attr]


def readme_steps(text: str) -> list[Step]:
    """The quick start's commands in order (``pip install`` lines aside: the environment already has them)."""
    first = _bash_blocks(text)[0].strip().split(" && ")[-1]
    then = _bash_blocks(text.split("Then, in this order", 1)[1])[0]
    lines = [first, *(line.split("  #", 1)[0].strip() for line in then.splitlines())]
    steps = []
    for line in lines:
        if not line or line.startswith("pip "):
            continue
        args = shlex.split(line)
        assert args[0] == "runnerkit", f"not a runnerkit command: {line}"
        if args[1] == "validate" and "broken" in args[2]:
            steps.append(Step(args[1:], code=1, quoted=quoted_validate_output(text)))
        else:
            steps.append(Step(args[1:]))
    return steps


def matches(quoted: str, printed: str) -> bool:
    """A quoted line matches a printed one exactly, or as its beginning where the README abridges it with `...`."""
    return printed.startswith(quoted[:-4]) if quoted.endswith(" ...") else printed == quoted


def check(step: Step, proc: subprocess.CompletedProcess[str]) -> list[str]:
    """What is wrong with how ``step`` ran (nothing: ``[]``)."""
    shown = f"`runnerkit {shlex.join(step.args)}`"
    if proc.returncode != step.code:
        return [f"{shown} exited {proc.returncode}, expected {step.code}:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"]
    printed = proc.stdout.splitlines()
    return [f"{shown} does not print the README's line {q!r}; it printed:\n{proc.stdout}"
            for q in step.quoted if not any(matches(q, p) for p in printed)]


def run_all(steps: Sequence[Step], run: Callable[[list[str]], subprocess.CompletedProcess[str]]) -> list[str]:
    """Run every step in order with ``run(args)``; every problem, stopping at the first command that fails."""
    for step in steps:
        problems = check(step, run(step.args))
        if problems:
            return problems
    return []


if __name__ == "__main__":
    def _here(args: list[str]) -> subprocess.CompletedProcess[str]:
        print("$ runnerkit", shlex.join(args), flush=True)
        return subprocess.run(["runnerkit", *args], capture_output=True, text=True, timeout=600)

    found = run_all(readme_steps(README.read_text(encoding="utf-8")), _here)
    print("\n".join(found) or "Every README command worked in order.")
    sys.exit(1 if found else 0)
