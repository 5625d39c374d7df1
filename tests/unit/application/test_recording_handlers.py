"""The commands that write what happened outside any aggregate (finished calls, the configuration
served, refusals), through the whole bus: the commands that run `whole` run so here too."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from application.providers.commands import RecordCompletions
from application.providers.config_audit import RecordConfig, digest
from application.shared.record_events import RecordEvents
from domains.billing.events import RequestRefused, UsageRecorded
from domains.providers.events import CompletionFinished, ConfigChanged
from tests.unit.application.bus_harness import Bus

TESTED = {RecordCompletions, RecordConfig, RecordEvents}


@pytest.fixture
def h() -> Bus:
    return Bus()


def finished(request_id: str) -> CompletionFinished:
    return CompletionFinished(
        request_id=request_id,
        endpoint="chat",
        key_id="k1",
        team_id="t1",
        org_id="o1",
        user_id=None,
        provider="openai",
        model="gpt-4o",
        upstream_model="gpt-4o-2024-08-06",
        stream=False,
        status=200,
        outcome="ok",
        input_tokens=10,
        output_tokens=5,
    )


async def test_record_completions_publishes_them_and_billing_records_their_usage(h: Bus) -> None:
    calls = (finished("r1"), finished("r2"))
    await h.handle(RecordCompletions(completions=calls))
    assert h.kinds()[:2] == ["CompletionFinished", "CompletionFinished"]
    assert {e.source_event_id for e in h.events if isinstance(e, UsageRecorded)} == {
        c.event_id for c in calls
    }
    assert set(h.store.usage) == {c.event_id for c in calls}
    assert len(h.transactions.waves) == 1
    assert h.transactions.waves[0].whole


async def test_recording_the_same_completions_again_records_no_usage_twice(h: Bus) -> None:
    calls = (finished("r1"),)
    await h.quietly(RecordCompletions(completions=calls))
    await h.handle(RecordCompletions(completions=calls, replayed=True))
    assert len(h.store.usage) == 1
    assert not any(isinstance(e, UsageRecorded) for e in h.events)


SUMMARY: dict[str, object] = {
    "providers": {"openai": {"kind": "openai", "models": {"gpt-4o": {"upstream": "gpt-4o"}}}}
}


async def test_record_config_stores_the_summary_and_publishes_what_changed(h: Bus) -> None:
    changed = await h.handle(RecordConfig(summary=SUMMARY))
    assert isinstance(changed, ConfigChanged)
    assert (changed.added, changed.removed, changed.changed) == (
        ["openai", "openai/gpt-4o"],
        [],
        [],
    )
    assert changed.digest == digest(SUMMARY)
    assert h.store.config == {"current": SUMMARY}
    assert h.only(ConfigChanged) == changed


async def test_the_same_configuration_again_records_nothing(h: Bus) -> None:
    await h.quietly(RecordConfig(summary=SUMMARY))
    commits = h.store.commits
    assert await h.handle(RecordConfig(summary=dict(SUMMARY))) is None
    assert h.events == []
    assert h.store.commits == commits


async def test_record_events_publishes_them_as_they_are(h: Bus) -> None:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    refused = RequestRefused(
        kind="rate_limit",
        key_id="k1",
        team_id="t1",
        org_id="o1",
        user_id=None,
        limit="key:k1",
        measure="requests",
        count=3,
        first_at=now,
        last_at=now,
    )
    await h.handle(RecordEvents(events=(refused,)))
    assert h.events == [refused]
    [row] = h.store.audit_rows
    assert row.data["count"] == 3
