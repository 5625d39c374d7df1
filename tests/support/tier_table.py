"""The table of prompts, with the tier and the model each gets, that docs/routing.md shows: the
tests read it from there, so the documentation and the tests cannot disagree."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DOC = Path(__file__).resolve().parents[2] / "docs" / "routing.md"
TABLE = re.compile(r"<!-- tier-table:.*?-->\n(.*?)<!-- /tier-table -->", re.S)
ROW = re.compile(r"^\| `` (?P<prompt>.+?) `` \| (?P<tier>\w+) \| (?P<model>[\w./-]+) \|$")


@dataclass(frozen=True)
class TierRow:
    prompt: str
    tier: str
    model: str


def tier_table() -> list[TierRow]:
    text = DOC.read_text()
    found = TABLE.search(text)
    assert found is not None, "docs/routing.md has lost its tier table"
    rows = []
    for line in found.group(1).splitlines()[2:]:  # past the header and its rule
        match = ROW.match(line)
        assert match is not None, f"not a row of the tier table: {line!r}"
        prompt = match["prompt"].replace("\\n", "\n")
        rows.append(TierRow(prompt, match["tier"], match["model"]))
    return rows


def documented_tiers() -> dict[str, Any]:
    """The `routing` of the example the table is read with (the YAML block just above it)."""
    text = DOC.read_text()
    before = text[: text.index("<!-- tier-table:")]
    block = re.findall(r"```yaml\n(.*?)```", before, re.S)[-1]
    routing: dict[str, Any] = yaml.safe_load(block)["routing"]
    return routing
