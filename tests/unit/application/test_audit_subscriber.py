"""The audit subscriber appends one chained row per audited event, once."""

from __future__ import annotations

from datetime import timedelta

from application.audit.formatting import audit_facts
from application.audit.subscribers import when_event_append_audit
from domains.audit.chain import GENESIS_HASH, format_ts, verify_rows
from domains.shared.events import Event
from tests.support.events import WHEN, key_revoked, org_created, team_created, usage
from tests.unit.application.fakes import UowFactory


class Unaudited(Event, frozen=True, kw_only=True, tag=True):
    note: str = ""


def audited_events() -> list[Event]:
    return [
        org_created(occurred_at=WHEN),
        team_created(occurred_at=WHEN + timedelta(1)),
        usage(),
    ]


async def test_each_audited_event_appends_a_chained_row() -> None:
    factory = UowFactory()
    events = audited_events()

    await when_event_append_audit(events, factory())

    rows = factory.store.audit_rows
    assert [row.seq for row in rows] == [1, 2, 3]
    assert rows[0].prev_hash == GENESIS_HASH
    assert verify_rows(rows).ok
    assert factory.store.audit_event_ids == {event.event_id for event in events}
    for row, event in zip(rows, events, strict=True):
        facts = audit_facts(event)
        assert facts is not None
        assert (row.actor, row.action, row.target, row.data) == (
            facts.actor,
            facts.action,
            facts.target,
            facts.data,
        )
        assert row.ts == format_ts(event.occurred_at)


async def test_rows_continue_the_existing_chain() -> None:
    factory = UowFactory()
    await when_event_append_audit(audited_events()[:1], factory())
    await when_event_append_audit([key_revoked(actor="bob")], factory())
    rows = factory.store.audit_rows
    assert [row.seq for row in rows] == [1, 2]
    assert rows[1].prev_hash == rows[0].hash
    assert rows[1].action == "key.revoke"
    assert verify_rows(rows).ok


async def test_events_without_audit_facts_are_skipped() -> None:
    factory = UowFactory()
    uow = factory()
    await when_event_append_audit([Unaudited(), Unaudited()], uow)
    assert factory.store.audit_rows == []
    assert factory.store.commits == 0  # no transaction at all


async def test_unaudited_events_in_a_mixed_batch_leave_no_gap() -> None:
    factory = UowFactory()
    first, second = audited_events()[:2]
    await when_event_append_audit([Unaudited(), first, Unaudited(), second], factory())
    rows = factory.store.audit_rows
    assert [(row.seq, row.action) for row in rows] == [(1, "org.create"), (2, "team.create")]
    assert factory.store.audit_event_ids == {first.event_id, second.event_id}


async def test_already_appended_events_are_skipped() -> None:
    factory = UowFactory()
    events = audited_events()
    await when_event_append_audit(events[:2], factory())
    before = list(factory.store.audit_rows)

    await when_event_append_audit(events, factory())  # a replay with one new event

    rows = factory.store.audit_rows
    assert rows[:2] == before
    assert len(rows) == 3
    assert rows[2].action == "chat.completion"
    assert verify_rows(rows).ok


async def test_a_full_replay_appends_nothing() -> None:
    factory = UowFactory()
    events = audited_events()
    await when_event_append_audit(events, factory())
    before = list(factory.store.audit_rows)
    await when_event_append_audit(events, factory())
    assert factory.store.audit_rows == before


async def test_an_event_repeated_within_one_batch_is_appended_once() -> None:
    factory = UowFactory()
    event = audited_events()[0]

    await when_event_append_audit([event, event], factory())

    assert [row.seq for row in factory.store.audit_rows] == [1]
