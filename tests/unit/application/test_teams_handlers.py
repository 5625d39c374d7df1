"""Teams use cases through the bus, over the in-memory unit of work."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from application.bus import MessageBus, Registry
from application.shared.uow import UnitOfWork
from application.teams.authenticate import KeyAuthenticator
from application.teams.commands import CreateOrg, CreateTeam, IssueKey, RevokeKey
from application.teams.handlers import create_org, create_team, issue_key, revoke_key
from application.teams.subscribers import when_key_revoked_forget_key
from domains.shared.caller import Caller
from domains.shared.errors import Conflict, NotFound
from domains.shared.events import Event
from domains.teams.events import KeyIssued, KeyRevoked, OrgCreated, TeamCreated
from domains.teams.model import hash_secret
from tests.unit.application.fake_transactions import FakeTransactions
from tests.unit.application.fakes import Store

HANDLERS: dict[Any, Any] = {
    CreateOrg: create_org,
    CreateTeam: create_team,
    IssueKey: issue_key,
    RevokeKey: revoke_key,
}


class StoreLookup:
    """Looks active keys up in the fake store, as the SQL lookup does in the database."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.calls = 0

    async def find_active(self, secret_hash: str) -> Caller | None:
        self.calls += 1
        for key in self.store.keys.values():
            if key.secret_hash == secret_hash and key.active:
                return Caller(
                    key_id=key.id,
                    key_prefix=key.prefix,
                    team_id=key.team_id,
                    org_id=key.org_id,
                    user_id=key.user_id,
                    models=key.models,
                )
        return None


class Harness:
    def __init__(self) -> None:
        self.transactions = FakeTransactions()
        self.store = self.transactions.store
        self.events: list[Event] = []
        self.lookup = StoreLookup(self.store)
        self.authenticator = KeyAuthenticator(self.lookup)

        async def everything(events: list[Event], uow: UnitOfWork) -> None:
            self.events.extend(events)

        registry = Registry(
            handlers=HANDLERS,
            subscribers={
                Event: [everything],
                KeyRevoked: [
                    functools.partial(when_key_revoked_forget_key, authenticator=self.authenticator)
                ],
            },
        )
        self.bus = MessageBus(registry, self.transactions)


@pytest.fixture
def h() -> Harness:
    return Harness()


async def test_create_org_stores_it_and_publishes_org_created(h: Harness) -> None:
    org = await h.bus.handle(CreateOrg(name="Acme", actor="admin"))
    assert h.store.orgs == {org.id: org}
    assert org.name == "Acme"
    [event] = h.events
    assert isinstance(event, OrgCreated)
    assert (event.org_id, event.actor) == (org.id, "admin")


async def test_create_team_in_an_org(h: Harness) -> None:
    org = await h.bus.handle(CreateOrg(name="Acme", actor="admin"))
    team = await h.bus.handle(CreateTeam(org_id=org.id, name="Research", actor="alice"))
    assert h.store.teams == {team.id: team}
    assert team.org_id == org.id
    assert isinstance(h.events[-1], TeamCreated)
    assert h.events[-1].team_id == team.id


async def test_team_of_an_unknown_org_is_not_found_and_nothing_is_stored(h: Harness) -> None:
    with pytest.raises(NotFound, match="org nope not found"):
        await h.bus.handle(CreateTeam(org_id="nope", name="Research", actor="admin"))
    assert h.store.teams == {}
    assert h.store.commits == 0
    assert h.events == []


async def test_key_of_an_unknown_team_is_not_found(h: Harness) -> None:
    with pytest.raises(NotFound):
        await h.bus.handle(IssueKey(team_id="nope", name="ci", actor="admin"))
    assert h.store.keys == {}
    assert h.events == []


async def test_issue_key_returns_the_secret_once_and_stores_only_its_hash(h: Harness) -> None:
    org = await h.bus.handle(CreateOrg(name="Acme", actor="admin"))
    team = await h.bus.handle(CreateTeam(org_id=org.id, name="Research", actor="admin"))
    key, secret = await h.bus.handle(
        IssueKey(team_id=team.id, name="ci", actor="admin", user_id="u1", models=("gpt-4o",))
    )
    stored = h.store.keys[key.id]
    assert stored.secret_hash == hash_secret(secret)
    assert secret not in vars(stored).values()
    assert (stored.team_id, stored.org_id, stored.user_id, stored.models) == (
        team.id,
        org.id,
        "u1",
        ("gpt-4o",),
    )
    issued = h.events[-1]
    assert isinstance(issued, KeyIssued)
    assert issued.key_id == key.id


async def test_an_issued_key_authenticates_until_revoked(h: Harness) -> None:
    org = await h.bus.handle(CreateOrg(name="Acme", actor="admin"))
    team = await h.bus.handle(CreateTeam(org_id=org.id, name="Research", actor="admin"))
    key, secret = await h.bus.handle(IssueKey(team_id=team.id, name="ci", actor="admin"))

    caller = await h.authenticator.authenticate(secret)
    assert caller is not None
    assert (caller.key_id, caller.team_id, caller.org_id) == (key.id, team.id, org.id)
    assert await h.authenticator.authenticate(secret) == caller
    assert h.lookup.calls == 1  # cached

    revoked = await h.bus.handle(RevokeKey(key_id=key.id, actor="admin"))
    assert not revoked.active
    assert not h.store.keys[key.id].active
    assert isinstance(h.events[-1], KeyRevoked)

    # the KeyRevoked subscriber dropped the cached entry: the next call asks the store again
    assert await h.authenticator.authenticate(secret) is None
    assert h.lookup.calls == 2


async def test_revoking_twice_is_a_conflict_and_publishes_once(h: Harness) -> None:
    org = await h.bus.handle(CreateOrg(name="Acme", actor="admin"))
    team = await h.bus.handle(CreateTeam(org_id=org.id, name="Research", actor="admin"))
    key, _ = await h.bus.handle(IssueKey(team_id=team.id, name="ci", actor="admin"))
    await h.bus.handle(RevokeKey(key_id=key.id, actor="admin"))
    with pytest.raises(Conflict):
        await h.bus.handle(RevokeKey(key_id=key.id, actor="admin"))
    assert sum(isinstance(event, KeyRevoked) for event in h.events) == 1


async def test_revoking_an_unknown_key_is_not_found(h: Harness) -> None:
    with pytest.raises(NotFound, match="key nope not found"):
        await h.bus.handle(RevokeKey(key_id="nope", actor="admin"))
