"""The message bus over in-memory transactions: commands, event waves, failures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from application.bus import (
    MAX_WAVES,
    WAVE_TRANSACTION,
    DeliveryFailure,
    Handler,
    MessageBus,
    Registry,
    Subscriber,
)
from application.shared.uow import UnitOfWork
from application.teams.commands import CreateOrg
from domains.shared.events import Command, Event
from domains.teams.events import KeyRevoked, OrgCreated, TeamCreated
from tests.unit.application.fake_transactions import FakeTransactions


def org(name: str = "Acme") -> OrgCreated:
    return OrgCreated(org_id=f"org-{name}", name=name, actor="admin")


def team(name: str = "Research") -> TeamCreated:
    return TeamCreated(team_id=f"team-{name}", org_id="org-Acme", name=name, actor="admin")


class Recorder:
    """A subscriber that remembers every batch it was given."""

    def __init__(self, name: str, *, fail: bool = False) -> None:
        self.__name__ = name
        self.batches: list[list[Event]] = []
        self.fail = fail

    async def __call__(self, events: list[Any], uow: UnitOfWork) -> None:
        self.batches.append(list(events))
        if self.fail:
            raise RuntimeError(f"{self.__name__} failed")

    @property
    def events(self) -> list[Event]:
        return [event for batch in self.batches for event in batch]


class Echo(Command, frozen=True, kw_only=True):
    text: str


class Other(Command, frozen=True, kw_only=True):
    pass


def marked(transactions: FakeTransactions) -> list[list[Event]]:
    """The waves marked dispatched (a wave whose every event failed marks nothing)."""
    return [wave for wave in transactions.marked if wave]


def bus_of(
    transactions: FakeTransactions,
    handlers: dict[type[Command], Handler] | None = None,
    subscribers: dict[type[Event], list[Subscriber]] | None = None,
    **kwargs: Any,
) -> MessageBus:
    registry = Registry(handlers=handlers or {}, subscribers=subscribers or {})
    return MessageBus(registry, transactions, **kwargs)


async def test_a_command_reaches_its_one_handler_and_returns_its_result() -> None:
    calls: list[tuple[Command, UnitOfWork]] = []
    other_calls: list[Command] = []

    async def echo(command: Echo, uow: UnitOfWork) -> str:
        calls.append((command, uow))
        return command.text.upper()

    async def other(command: Other, uow: UnitOfWork) -> None:
        other_calls.append(command)

    transactions = FakeTransactions()
    bus = bus_of(transactions, {Echo: echo, Other: other}, {})
    assert await bus.handle(Echo(text="hi")) == "HI"
    assert [command for command, _ in calls] == [Echo(text="hi")]
    assert calls[0][1] is transactions.made[0]  # a fresh unit of work for the handler
    assert other_calls == []


async def test_a_command_without_a_handler_is_a_lookup_error() -> None:
    bus = bus_of(FakeTransactions(), {}, {})
    with pytest.raises(LookupError, match="no handler for Echo"):
        await bus.handle(Echo(text="x"))


async def test_handler_errors_propagate_and_publish_nothing() -> None:
    seen = Recorder("seen")

    async def broken(command: Echo, uow: UnitOfWork) -> None:
        uow.publish(org())  # never committed
        raise ValueError("nope")

    bus = bus_of(FakeTransactions(), {Echo: broken}, {OrgCreated: [seen]})
    with pytest.raises(ValueError, match="nope"):
        await bus.handle(Echo(text="x"))
    assert seen.batches == []


async def test_events_committed_by_a_handler_are_published() -> None:
    seen = Recorder("seen")

    async def emit(command: Echo, uow: UnitOfWork) -> None:
        async with uow:
            uow.publish(org(command.text))
            await uow.commit()

    bus = bus_of(FakeTransactions(), {Echo: emit}, {OrgCreated: [seen]})
    await bus.handle(Echo(text="Acme"))
    assert [event.name for event in seen.events] == ["Acme"]  # type: ignore[attr-defined]


async def test_an_event_reaches_each_subscriber_in_batches_of_its_type() -> None:
    org_a, org_b = Recorder("org_a"), Recorder("org_b")
    teams = Recorder("teams")
    transactions = FakeTransactions()
    bus = bus_of(transactions, {}, {OrgCreated: [org_a, org_b], TeamCreated: [teams]})
    wave = [org("A"), team("T1"), org("B"), team("T2")]

    await bus.publish(wave)

    assert org_a.batches == [[wave[0], wave[2]]]
    assert org_b.batches == [[wave[0], wave[2]]]
    assert teams.batches == [[wave[1], wave[3]]]
    [wave_tx] = transactions.waves  # one transaction for the wave
    assert len(wave_tx.units) == 3  # a unit of work per batch


async def test_subscribers_of_the_base_event_get_every_event() -> None:
    everything = Recorder("everything")
    only_orgs = Recorder("only_orgs")
    bus = bus_of(FakeTransactions(), {}, {Event: [everything], OrgCreated: [only_orgs]})
    revoked = KeyRevoked(key_id="k", team_id="t", org_id="o", actor="a")
    wave = [org(), team(), revoked]

    await bus.publish(wave)

    assert everything.batches == [wave]
    assert only_orgs.events == [wave[0]]


async def test_events_without_subscribers_are_fine() -> None:
    transactions = FakeTransactions()
    bus = bus_of(transactions, {}, {})
    await bus.publish([org()])
    assert len(marked(transactions)) == 1


async def test_publishing_nothing_dispatches_nothing() -> None:
    transactions = FakeTransactions()
    bus = bus_of(transactions, {}, {Event: [Recorder("x")]})
    await bus.publish([])
    assert marked(transactions) == []


async def test_events_published_by_subscribers_go_out_in_the_next_wave() -> None:
    order: list[str] = []
    follow_up = team("caused")

    async def on_org(events: list[OrgCreated], uow: UnitOfWork) -> None:
        order.append("on_org")
        async with uow:
            uow.publish(follow_up)
            await uow.commit()

    async def also_on_org(events: list[OrgCreated], uow: UnitOfWork) -> None:
        order.append("also_on_org")

    async def on_team(events: list[TeamCreated], uow: UnitOfWork) -> None:
        order.append(f"on_team:{events[0].name}")

    transactions = FakeTransactions()
    bus = bus_of(
        transactions,
        {},
        {OrgCreated: [on_org, also_on_org], TeamCreated: [on_team]},
    )
    first = org()
    await bus.publish([first])

    # the follow-up waits until every subscriber of the first wave has run
    assert order == ["on_org", "also_on_org", "on_team:caused"]
    assert marked(transactions) == [[first], [follow_up]]


async def test_uncommitted_events_of_a_subscriber_do_not_go_out() -> None:
    teams = Recorder("teams")

    async def forgetful(events: list[OrgCreated], uow: UnitOfWork) -> None:
        async with uow:
            uow.publish(team())  # no commit: rolled back

    bus = bus_of(FakeTransactions(), {}, {OrgCreated: [forgetful], TeamCreated: [teams]})
    await bus.publish([org()])
    assert teams.batches == []


async def test_a_failing_subscriber_is_isolated_and_its_wave_not_marked_dispatched() -> None:
    before, broken, after = Recorder("before"), Recorder("broken", fail=True), Recorder("after")
    transactions = FakeTransactions()
    bus = bus_of(transactions, {}, {OrgCreated: [before, broken, after]})
    event = org()

    await bus.publish([event])  # does not raise

    assert before.events == [event]
    assert broken.events == [event]
    assert after.events == [event]
    assert marked(transactions) == []


async def test_clean_waves_are_dispatched_even_when_another_wave_fails() -> None:
    caused = team("caused")

    async def ok_and_publishes(events: list[OrgCreated], uow: UnitOfWork) -> None:
        async with uow:
            uow.publish(caused)
            await uow.commit()

    broken = Recorder("broken", fail=True)
    transactions = FakeTransactions()

    # wave 1 fails (but its healthy subscriber's events still go out); wave 2 is clean
    bus = bus_of(
        transactions,
        {},
        {OrgCreated: [broken, ok_and_publishes], TeamCreated: [Recorder("teams")]},
    )
    await bus.publish([org()])
    assert marked(transactions) == [[caused]]

    # the other way round: wave 1 is clean, wave 2 fails
    transactions_2 = FakeTransactions()
    first = org()
    bus_2 = bus_of(
        transactions_2,
        {},
        {OrgCreated: [ok_and_publishes], TeamCreated: [Recorder("broken_t", fail=True)]},
    )
    await bus_2.publish([first])
    assert marked(transactions_2) == [[first]]


async def test_a_subscriber_that_always_republishes_stops_after_max_waves() -> None:
    calls = 0

    async def loop(events: list[Event], uow: UnitOfWork) -> None:
        nonlocal calls
        calls += 1
        async with uow:
            uow.publish(org(f"again-{calls}"))
            await uow.commit()

    transactions = FakeTransactions()
    bus = bus_of(transactions, {}, {OrgCreated: [loop]})
    await bus.publish([org()])
    assert calls == MAX_WAVES
    assert len(marked(transactions)) == MAX_WAVES


async def test_handle_publishes_the_aggregate_events_of_a_real_handler() -> None:
    from application.teams.handlers import create_org

    seen = Recorder("seen")
    bus = bus_of(FakeTransactions(), {CreateOrg: create_org}, {OrgCreated: [seen]})
    created = await bus.handle(CreateOrg(name="Acme", actor="admin"))
    [event] = seen.events
    assert isinstance(event, OrgCreated)
    assert event.org_id == created.id


async def test_a_subscriber_matching_an_event_twice_gets_it_once() -> None:
    both = Recorder("both")
    bus = bus_of(FakeTransactions(), {}, {Event: [both], OrgCreated: [both]})
    wave = [org(), team()]

    await bus.publish(wave)

    assert both.batches == [wave]


async def test_only_a_failing_subscribers_events_stay_undelivered_and_its_failure_is_reported() -> (
    None
):
    failures: list[DeliveryFailure] = []

    async def on_failed(reported: Sequence[DeliveryFailure]) -> None:
        failures.extend(reported)

    transactions = FakeTransactions()
    broken_on_orgs = Recorder("broken_on_orgs", fail=True)
    bus = bus_of(
        transactions,
        {},
        {OrgCreated: [broken_on_orgs], TeamCreated: [Recorder("teams")]},
        on_failed=on_failed,
    )
    failing, fine = org(), team()
    await bus.publish([failing, fine])

    assert marked(transactions) == [[fine]]  # the wave's other event is delivered
    (failure,) = failures
    assert failure.subscriber == "broken_on_orgs"
    assert failure.event_ids == (failing.event_id,)
    assert str(failure.error) == "broken_on_orgs failed"


async def test_a_wave_whose_commit_fails_keeps_nothing_and_is_reported() -> None:
    failures: list[DeliveryFailure] = []

    async def on_failed(reported: Sequence[DeliveryFailure]) -> None:
        failures.extend(reported)

    async def publishes(events: list[OrgCreated], uow: UnitOfWork) -> None:
        async with uow:
            uow.publish(team("caused"))
            await uow.commit()

    teams = Recorder("teams")
    transactions = FakeTransactions(failing_commits=1)
    bus = bus_of(
        transactions, {}, {OrgCreated: [publishes], TeamCreated: [teams]}, on_failed=on_failed
    )
    event = org()
    await bus.publish([event])  # does not raise

    assert transactions.marked == []
    assert teams.batches == []  # what the wave's subscribers published was not kept
    (failure,) = failures
    assert failure.subscriber == WAVE_TRANSACTION
    assert failure.event_ids == (event.event_id,)


def test_a_command_has_one_handler() -> None:
    async def echo(command: Echo, uow: UnitOfWork) -> None:
        return None

    registry = Registry()
    registry.handle(Echo, echo)
    with pytest.raises(ValueError, match="Echo has a handler already"):
        registry.handle(Echo, echo)
