"""Commands run `whole` (with every wave they cause, in one transaction), and the start-up
check that their events reach only subscribers that write rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from application.audit.registration import register as register_audit
from application.billing.limits_cache import LimitsCache
from application.billing.registration import register as register_billing
from application.bus import DeliveryFailure, MessageBus, Registry, UnsafeWhole
from application.providers.commands import RecordCompletions
from application.shared.uow import UnitOfWork
from application.teams.authenticate import KeyAuthenticator
from application.teams.registration import register as register_teams
from domains.billing.events import BudgetSet, UsageRecorded
from domains.billing.limits import LimitsSnapshot
from domains.providers.events import CompletionFinished
from domains.shared.events import Command, Event
from domains.teams.events import OrgCreated, TeamCreated
from tests.unit.application.fake_transactions import FakeTransactions


class Record(Command, frozen=True, kw_only=True):
    name: str


def org(name: str) -> OrgCreated:
    return OrgCreated(org_id=f"org-{name}", name=name, actor="admin")


def team(name: str) -> TeamCreated:
    return TeamCreated(team_id=f"team-{name}", org_id="org-Acme", name=name, actor="admin")


class Calls:
    def __init__(self) -> None:
        self.handled: list[str] = []
        self.seen: list[tuple[str, list[Event]]] = []

    async def record(self, command: Record, uow: UnitOfWork) -> str:
        self.handled.append(command.name)
        async with uow:
            uow.publish(org(command.name))
            await uow.commit()
        return command.name.upper()

    def subscriber(
        self, name: str, *, fail: bool = False, publish: Event | None = None, commit: bool = True
    ) -> Any:
        async def subscriber(events: list[Event], uow: UnitOfWork) -> None:
            self.seen.append((name, list(events)))
            if fail:
                raise RuntimeError(f"{name} failed")
            async with uow:
                if publish is not None:
                    uow.publish(publish)
                if commit:
                    await uow.commit()

        subscriber.__qualname__ = name
        return subscriber


def whole_bus(
    calls: Calls, transactions: FakeTransactions, registry: Registry, **kwargs: Any
) -> MessageBus:
    registry.handle(Record, calls.record)
    registry.run_whole(Record, carrying=(OrgCreated, TeamCreated))
    return MessageBus(registry, transactions, **kwargs)


async def test_a_whole_command_and_its_waves_commit_once_all_marked_dispatched() -> None:
    calls, transactions, registry = Calls(), FakeTransactions(), Registry()
    registry.subscribe((OrgCreated,), calls.subscriber("on_org", publish=team("T")), rows_only=True)
    registry.subscribe((TeamCreated,), calls.subscriber("on_team"), rows_only=True)
    bus = whole_bus(calls, transactions, registry)

    assert await bus.handle(Record(name="Acme")) == "ACME"

    [tx] = transactions.waves
    assert tx.whole
    assert transactions.store.commits == 1
    [marked] = transactions.marked
    assert [type(event) for event in marked] == [OrgCreated, TeamCreated]
    assert [name for name, _ in calls.seen] == ["on_org", "on_team"]


@pytest.mark.parametrize("how", ["fails", "does not commit"])
async def test_a_whole_run_that_goes_wrong_is_undone_and_run_again_the_careful_way(
    how: str,
) -> None:
    calls, transactions, registry = Calls(), FakeTransactions(), Registry()
    failures: list[DeliveryFailure] = []

    async def on_failed(reported: Sequence[DeliveryFailure]) -> None:
        failures.extend(reported)

    broken = calls.subscriber("broken", fail=how == "fails", commit=False)
    registry.subscribe((OrgCreated,), broken, rows_only=True)
    registry.subscribe((OrgCreated,), calls.subscriber("fine"), rows_only=True)
    bus = whole_bus(calls, transactions, registry, on_failed=on_failed)

    assert await bus.handle(Record(name="Acme")) == "ACME"

    assert calls.handled == ["Acme", "Acme"]  # whole, undone; then its own unit of work
    whole, careful = transactions.waves
    assert whole.whole
    assert not whole.committed
    assert not careful.whole
    assert careful.committed
    assert len(transactions.made) == 1  # the command's own unit on the careful way
    if how == "fails":
        assert transactions.marked == [[]]  # the wave stays in the outbox for the relay
        assert [failure.subscriber for failure in failures] == ["broken"]
    else:
        assert [len(wave) for wave in transactions.marked] == [1]
        assert failures == []


def test_the_bus_refuses_a_whole_command_whose_events_reach_a_subscriber_with_other_effects() -> (
    None
):
    calls = Calls()
    registry = Registry()
    registry.subscribe((OrgCreated,), calls.subscriber("writes"), rows_only=True)
    registry.subscribe((TeamCreated,), calls.subscriber("broadcasts"))  # not rows only
    with pytest.raises(UnsafeWhole, match="TeamCreated reaches broadcasts"):
        whole_bus(calls, FakeTransactions(), registry)


def test_a_subscriber_of_a_base_event_counts_for_a_whole_commands_events() -> None:
    calls = Calls()
    registry = Registry()
    registry.subscribe((Event,), calls.subscriber("everything"))
    with pytest.raises(UnsafeWhole, match="reaches everything"):
        whole_bus(calls, FakeTransactions(), registry)


async def test_a_whole_run_reaching_an_undeclared_subscriber_is_abandoned_before_it() -> None:
    """An event the registration did not declare still never reaches, inside the whole
    transaction, a subscriber with effects outside the database."""
    calls, transactions, registry = Calls(), FakeTransactions(), Registry()
    undeclared = BudgetSet(
        scope="org", scope_id="o", period="month", max_usd=None, max_tokens=10, actor="admin"
    )
    registry.subscribe(
        (OrgCreated,), calls.subscriber("on_org", publish=undeclared), rows_only=True
    )
    registry.subscribe((BudgetSet,), calls.subscriber("reloads"))
    bus = whole_bus(calls, transactions, registry)

    await bus.handle(Record(name="Acme"))

    assert [name for name, _ in calls.seen] == ["on_org", "on_org", "reloads"]
    assert [tx.whole for tx in transactions.waves] == [True, False, False]
    assert not transactions.waves[0].committed


def contexts(authenticator: KeyAuthenticator, limits: LimitsCache) -> Registry:
    """The registrations of teams, billing and audit, as the composition root makes them."""
    registry = Registry()
    register_teams(registry, authenticator=authenticator, sessions=None, broadcast=None)
    register_billing(registry, limits=limits)
    register_audit(registry)
    return registry


async def _no_limits() -> LimitsSnapshot:
    return LimitsSnapshot()


def test_the_contexts_registrations_let_finished_calls_run_whole_but_not_limit_changes() -> None:
    authenticator = KeyAuthenticator(lookup=None)  # type: ignore[arg-type]
    limits = LimitsCache(_no_limits)

    registry = contexts(authenticator, limits)
    registry.run_whole(RecordCompletions, carrying=(CompletionFinished, UsageRecorded))
    MessageBus(registry, FakeTransactions())  # billing's usage and the audit rows: rows only

    registry = contexts(authenticator, limits)
    registry.run_whole(RecordCompletions, carrying=(CompletionFinished, BudgetSet))
    with pytest.raises(UnsafeWhole, match=r"BudgetSet reaches LimitsCache\.when_limits_changed"):
        MessageBus(registry, FakeTransactions())
