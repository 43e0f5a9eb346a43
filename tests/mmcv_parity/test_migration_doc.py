"""docs/migration.md is the guide: every entry the code and the tests point to exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def headings() -> set[str]:
    text = (ROOT / "docs" / "migration.md").read_text(encoding="utf-8")
    return {m.group(1).strip() for m in re.finditer(r"^#+ (.+)$", text, re.M)}


def test_every_migration_entry_referred_to_is_a_heading() -> None:
    found = headings()
    referred: set[str] = set()
    for path in [*ROOT.joinpath("runnerkit").rglob("*.py"), *ROOT.joinpath("tests").rglob("*.py")]:
        for m in re.finditer(r"docs/migration\.md, '([^']+)'", path.read_text(encoding="utf-8")):
            referred.add(m.group(1))
    assert referred, "nothing refers to docs/migration.md entries"
    assert referred <= found, sorted(referred - found)


def test_the_guide_lists_each_deliberate_difference_the_issue_names() -> None:
    assert {"Argument checks", "Hook priorities", "Checkpoint numbering outside training", "No sleeps",
            "No symlinks needed", "`weights_only` loading"} <= headings()


def test_the_readme_links_the_guide() -> None:
    assert "docs/migration.md" in (ROOT / "README.md").read_text(encoding="utf-8")
