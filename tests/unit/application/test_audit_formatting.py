"""Each event reads as the same audit row it always has: the rows in audit_rows_expected.json
were written by the event classes' own formatting before it moved to the audit context, and the
hash chain covers every field of them (actor, action, target, data, in this order of keys).

An event added later gets its entries with `python -m tests.unit.application.test_audit_formatting`,
which appends the rows of the builders' instances not in the file yet and never changes a row
that is there.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec
import pytest

from application.audit.formatting import (
    FORMATTERS,
    NOT_AUDITED,
    audit_facts,
    billing,
    conversations,
    delivery,
    providers,
    teams_orgs,
    teams_people,
)
from domains.shared.events import Event
from infrastructure.db.event_codec import EventCodec, all_event_types
from tests.support.audit_variants import audit_variants
from tests.support.events import WHEN
from tests.support.every_event import one_of_each

EXPECTED = Path(__file__).with_name("audit_rows_expected.json")
CODEC = EventCodec(all_event_types())


def _entries() -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads(EXPECTED.read_text())
    return entries


def _row(event: Event) -> dict[str, Any]:
    facts = audit_facts(event)
    if facts is None:
        return {"row": None, "data_repr": None}
    row = {"actor": facts.actor, "action": facts.action, "target": facts.target, "data": facts.data}
    return {"row": msgspec.json.encode(row).decode(), "data_repr": repr(facts.data)}


@pytest.mark.parametrize(
    "entry", _entries(), ids=lambda e: f"{e['event']['type']}-{e['event']['event_id']}"
)
def test_each_event_reads_as_the_row_it_always_has(entry: dict[str, Any]) -> None:
    event = CODEC.decode(json.dumps(entry["event"]))
    assert _row(event) == {"row": entry["row"], "data_repr": entry["data_repr"]}


def test_the_expected_rows_cover_every_event_type() -> None:
    covered = {CODEC.types[entry["event"]["type"]] for entry in _entries()}
    assert covered == set(all_event_types())


def test_the_expected_rows_cover_every_builders_instance() -> None:
    missing = _missing()
    assert missing == [], "run python -m tests.unit.application.test_audit_formatting"


def test_every_event_type_is_either_formatted_or_named_as_not_audited() -> None:
    formatted = set(FORMATTERS)
    assert formatted.isdisjoint(NOT_AUDITED)
    assert formatted | NOT_AUDITED == set(all_event_types())
    assert all(audit_facts(event) is None for event in one_of_each() if type(event) in NOT_AUDITED)


def test_no_event_type_has_two_formatters() -> None:
    modules = (billing, conversations, delivery, providers, teams_orgs, teams_people)
    counts = Counter(event_type for module in modules for event_type, _ in module.ENTRIES)
    assert [t.__name__ for t, n in counts.items() if n > 1] == []
    assert len(counts) == len(FORMATTERS)


def test_an_event_of_no_context_is_not_audited() -> None:
    class Unknown(Event, frozen=True, kw_only=True, tag=True):
        note: str = ""

    assert audit_facts(Unknown()) is None


def _instances() -> list[Event]:
    """The builders' instances, with an id and a time of their own so the file stays put."""
    return [
        msgspec.structs.replace(event, event_id=f"ev-{n:03d}", occurred_at=WHEN)
        for n, event in enumerate(one_of_each() + audit_variants(), 1)
    ]


def _missing() -> list[dict[str, Any]]:
    known = {json.dumps(entry["event"], sort_keys=True) for entry in _entries()}
    missing = []
    for event in _instances():
        encoded = json.loads(CODEC.encode(event))
        if json.dumps(encoded, sort_keys=True) not in known:
            missing.append({"event": encoded, **_row(event)})
    return missing


if __name__ == "__main__":
    entries = _entries() + _missing()
    EXPECTED.write_text(json.dumps(entries, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(entries)} rows in {EXPECTED.name}")
