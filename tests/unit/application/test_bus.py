"""The message bus with an in-memory unit of work: commands, event waves, failures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from application.uow import UnitOfWork

from application.bus import MAX_WAVES, DeliveryFailure, MessageBus
from application.teams.commands import CreateOrg
from domains.shared.events import Command, Event
from domains.teams.events import KeyRevoked, OrgCreated, TeamCreated
from tests.unit.application.fakes import UowFactory


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


class Dispatched:
    def __init__(self) -> None:
        self.waves: list[list[Event]] = []

    async def __call__(self, wave: Sequence[Event]) -> None:
        self.waves.append(list(wave))


class Echo(Command, frozen=True, kw_only=True):
    text: str


class Other(Command, frozen=True, kw_only=True):
    pass


async def test_a_command_reaches_its_one_handler_and_returns_its_result() -> None:
    calls: list[tuple[Command, UnitOfWork]] = []
    other_calls: list[Command] = []

    async def echo(command: Echo, uow: UnitOfWork) -> str:
        calls.append((command, uow))
        return command.text.upper()

    async def other(command: Other, uow: UnitOfWork) -> None:
        other_calls.append(command)

    factory = UowFactory()
    bus = MessageBus(factory, {Echo: echo, Other: other}, {})
    assert await bus.handle(Echo(text="hi")) == "HI"
    assert [command for command, _ in calls] == [Echo(text="hi")]
    assert calls[0][1] is factory.made[0]  # a fresh unit of work for the handler
    assert other_calls == []


async def test_a_command_without_a_handler_is_a_lookup_error() -> None:
    bus = MessageBus(UowFactory(), {}, {})
    with pytest.raises(LookupError, match="no handler for Echo"):
        await bus.handle(Echo(text="x"))


async def test_handler_errors_propagate_and_publish_nothing() -> None:
    seen = Recorder("seen")

    async def broken(command: Echo, uow: UnitOfWork) -> None:
        uow.publish(org())  # never committed
        raise ValueError("nope")

    bus = MessageBus(UowFactory(), {Echo: broken}, {OrgCreated: [seen]})
    with pytest.raises(ValueError, match="nope"):
        await bus.handle(Echo(text="x"))
    assert seen.batches == []


async def test_events_committed_by_a_handler_are_published() -> None:
    seen = Recorder("seen")

    async def emit(command: Echo, uow: UnitOfWork) -> None:
        async with uow:
            uow.publish(org(command.text))
            await uow.commit()

    bus = MessageBus(UowFactory(), {Echo: emit}, {OrgCreated: [seen]})
    await bus.handle(Echo(text="Acme"))
    assert [event.name for event in seen.events] == ["Acme"]  # type: ignore[attr-defined]


async def test_an_event_reaches_each_subscriber_in_batches_of_its_type() -> None:
    org_a, org_b = Recorder("org_a"), Recorder("org_b")
    teams = Recorder("teams")
    factory = UowFactory()
    bus = MessageBus(factory, {}, {OrgCreated: [org_a, org_b], TeamCreated: [teams]})
    wave = [org("A"), team("T1"), org("B"), team("T2")]

    await bus.publish(wave)

    assert org_a.batches == [[wave[0], wave[2]]]
    assert org_b.batches == [[wave[0], wave[2]]]
    assert teams.batches == [[wave[1], wave[3]]]
    assert len(factory.made) == 3  # a unit of work per batch


async def test_subscribers_of_the_base_event_get_every_event() -> None:
    everything = Recorder("everything")
    only_orgs = Recorder("only_orgs")
    bus = MessageBus(UowFactory(), {}, {Event: [everything], OrgCreated: [only_orgs]})
    revoked = KeyRevoked(key_id="k", team_id="t", org_id="o", actor="a")
    wave = [org(), team(), revoked]

    await bus.publish(wave)

    assert everything.batches == [wave]
    assert only_orgs.events == [wave[0]]


async def test_events_without_subscribers_are_fine() -> None:
    dispatched = Dispatched()
    bus = MessageBus(UowFactory(), {}, {}, on_dispatched=dispatched)
    await bus.publish([org()])
    assert len(dispatched.waves) == 1


async def test_publishing_nothing_dispatches_nothing() -> None:
    dispatched = Dispatched()
    bus = MessageBus(UowFactory(), {}, {Event: [Recorder("x")]}, on_dispatched=dispatched)
    await bus.publish([])
    assert dispatched.waves == []


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

    dispatched = Dispatched()
    bus = MessageBus(
        UowFactory(),
        {},
        {OrgCreated: [on_org, also_on_org], TeamCreated: [on_team]},
        on_dispatched=dispatched,
    )
    first = org()
    await bus.publish([first])

    # the follow-up waits until every subscriber of the first wave has run
    assert order == ["on_org", "also_on_org", "on_team:caused"]
    assert dispatched.waves == [[first], [follow_up]]


async def test_uncommitted_events_of_a_subscriber_do_not_go_out() -> None:
    teams = Recorder("teams")

    async def forgetful(events: list[OrgCreated], uow: UnitOfWork) -> None:
        async with uow:
            uow.publish(team())  # no commit: rolled back

    bus = MessageBus(UowFactory(), {}, {OrgCreated: [forgetful], TeamCreated: [teams]})
    await bus.publish([org()])
    assert teams.batches == []


async def test_a_failing_subscriber_is_isolated_and_its_wave_not_marked_dispatched() -> None:
    before, broken, after = Recorder("before"), Recorder("broken", fail=True), Recorder("after")
    dispatched = Dispatched()
    bus = MessageBus(
        UowFactory(), {}, {OrgCreated: [before, broken, after]}, on_dispatched=dispatched
    )
    event = org()

    await bus.publish([event])  # does not raise

    assert before.events == [event]
    assert broken.events == [event]
    assert after.events == [event]
    assert dispatched.waves == []


async def test_clean_waves_are_dispatched_even_when_another_wave_fails() -> None:
    caused = team("caused")

    async def ok_and_publishes(events: list[OrgCreated], uow: UnitOfWork) -> None:
        async with uow:
            uow.publish(caused)
            await uow.commit()

    broken = Recorder("broken", fail=True)
    dispatched = Dispatched()

    # wave 1 fails (but its healthy subscriber's events still go out); wave 2 is clean
    bus = MessageBus(
        UowFactory(),
        {},
        {OrgCreated: [broken, ok_and_publishes], TeamCreated: [Recorder("teams")]},
        on_dispatched=dispatched,
    )
    await bus.publish([org()])
    assert dispatched.waves == [[caused]]

    # the other way round: wave 1 is clean, wave 2 fails
    dispatched_2 = Dispatched()
    first = org()
    bus_2 = MessageBus(
        UowFactory(),
        {},
        {OrgCreated: [ok_and_publishes], TeamCreated: [Recorder("broken_t", fail=True)]},
        on_dispatched=dispatched_2,
    )
    await bus_2.publish([first])
    assert dispatched_2.waves == [[first]]


async def test_a_subscriber_that_always_republishes_stops_after_max_waves() -> None:
    calls = 0

    async def loop(events: list[Event], uow: UnitOfWork) -> None:
        nonlocal calls
        calls += 1
        async with uow:
            uow.publish(org(f"again-{calls}"))
            await uow.commit()

    dispatched = Dispatched()
    bus = MessageBus(UowFactory(), {}, {OrgCreated: [loop]}, on_dispatched=dispatched)
    await bus.publish([org()])
    assert calls == MAX_WAVES
    assert len(dispatched.waves) == MAX_WAVES


async def test_handle_publishes_the_aggregate_events_of_a_real_handler() -> None:
    from application.teams.handlers import create_org

    seen = Recorder("seen")
    bus = MessageBus(UowFactory(), {CreateOrg: create_org}, {OrgCreated: [seen]})
    created = await bus.handle(CreateOrg(name="Acme", actor="admin"))
    [event] = seen.events
    assert isinstance(event, OrgCreated)
    assert event.org_id == created.id


async def test_a_subscriber_matching_an_event_twice_gets_it_once() -> None:
    both = Recorder("both")
    bus = MessageBus(UowFactory(), {}, {Event: [both], OrgCreated: [both]})
    wave = [org(), team()]

    await bus.publish(wave)

    assert both.batches == [wave]


async def test_only_a_failing_subscribers_events_stay_undelivered_and_its_failure_is_reported() -> (
    None
):
    failures: list[DeliveryFailure] = []

    async def on_failed(reported: Sequence[DeliveryFailure]) -> None:
        failures.extend(reported)

    dispatched = Dispatched()
    broken_on_orgs = Recorder("broken_on_orgs", fail=True)
    bus = MessageBus(
        UowFactory(),
        {},
        {OrgCreated: [broken_on_orgs], TeamCreated: [Recorder("teams")]},
        on_dispatched=dispatched,
        on_failed=on_failed,
    )
    failing, fine = org(), team()
    await bus.publish([failing, fine])

    assert dispatched.waves == [[fine]]  # the wave's other event is delivered
    (failure,) = failures
    assert failure.subscriber == "broken_on_orgs"
    assert failure.event_ids == (failing.event_id,)
    assert str(failure.error) == "broken_on_orgs failed"
