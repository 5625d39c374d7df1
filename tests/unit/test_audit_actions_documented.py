"""docs/audit.md lists every action the audit log writes: each `action` an event gives its row."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def written_actions() -> set[str]:
    found: set[str] = set()
    for source in (ROOT / "application" / "audit" / "formatting").rglob("*.py"):
        text = source.read_text()
        for expression in re.findall(r"\baction=(.*?)\n\s*target=", text, re.S):
            found.update(re.findall(r'"([a-z_]+\.[a-z_]+)"', expression))
    return found


def documented_actions() -> set[str]:
    text = (ROOT / "docs" / "audit.md").read_text()
    section = text[text.index("## Actions") :]
    section = section[: section.index("\n## ", 1)]
    return set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", section, re.M))


def test_every_action_written_is_documented() -> None:
    written = written_actions()
    assert len(written) >= 40, sorted(written)
    assert written - documented_actions() == set()


def test_no_action_is_documented_that_is_never_written() -> None:
    assert documented_actions() - written_actions() == set()
