"""Finding a config key's line in its file (``runnerkit._locate``), for ``file:line: key: message``."""

from __future__ import annotations

import textwrap
from pathlib import Path

from runnerkit._locate import find_line, format_loc, locate


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def test_keys_are_shown_as_paths_with_indices() -> None:
    assert format_loc(("workflow", 0, 1)) == "workflow[0][1]"
    assert format_loc(("log_config", "hooks", 1, "type")) == "log_config.hooks[1].type"
    assert format_loc(()) == "(top level)"


def test_a_key_built_by_code_falls_back_to_the_deepest_spelled_out_part(tmp_path: Path) -> None:
    path = write(tmp_path, "cfg.py", """
        base = dict(type="DemoModel")
        model = {**base, "hidden": 8}
        runner = dict(
            type="IterBasedRunner",
        )
    """)
    assert find_line(path, ("model", "type")) == (1, 2)
    assert find_line(path, ("runner", "max_iters")) == (1, 3)
    assert find_line(path, ("nope",)) == (0, 0)


def test_the_file_that_spells_out_more_of_a_key_wins(tmp_path: Path) -> None:
    base = write(tmp_path, "base.json", '{\n  "runner": {\n    "max_iters": 3\n  }\n}\n')
    child = write(tmp_path, "job.py", "_base_ = 'base.json'\nrunner = dict(type='IterBasedRunner')\n")
    assert locate([child, base], ("runner", "max_iters")) == f"{base}:3"
    assert locate([child, base], ("runner", "type")) == f"{child}:2"
