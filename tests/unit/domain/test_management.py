"""Renaming, relabelling and deleting orgs, teams and keys: the rules, without a database."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.audit.formatting import audit_facts
from domains.shared.errors import Conflict, InvalidValue
from domains.teams import management
from domains.teams.events import (
    KeyChanged,
    KeyRevoked,
    OrgChanged,
    OrgDeleted,
    TeamChanged,
    TeamDeleted,
    TeamRenamed,
    UserChanged,
)
from domains.teams.management import MAX_METADATA_BYTES, OrgHoldings
from domains.teams.model import Org, Team, VirtualKey
from domains.teams.users import User

NOTHING = OrgHoldings(teams=0, scim_tokens=0, sso_connections=0)


def fresh() -> tuple[Org, Team, VirtualKey]:
    org = Org.create("acme", actor="admin")
    team = Team.create(org, "eng", actor="admin")
    key, _ = VirtualKey.issue(team, "ci", actor="admin")
    for aggregate in (org, team, key):
        aggregate.pull_events()
    return org, team, key


def test_a_change_records_only_what_changed() -> None:
    org, _, _ = fresh()
    assert not management.change_org(org, actor="admin", name="acme", metadata={})
    assert org.pull_events() == []
    assert management.change_org(org, actor="admin", metadata={"cc": "42"})
    [event] = org.pull_events()
    assert isinstance(event, OrgChanged)
    assert audit_facts(event).data == {"metadata": {"cc": "42"}}
    assert management.change_org(org, actor="admin", name="Acme", metadata={"cc": "42"})
    [event] = org.pull_events()
    assert audit_facts(event).data == {"name": "Acme"}


def test_a_team_is_renamed_and_relabelled_with_an_event_each() -> None:
    _, team, _ = fresh()
    assert management.change_team(team, actor="a", name="research", metadata={"o": 1})
    renamed, relabelled = team.pull_events()
    assert isinstance(renamed, TeamRenamed)
    assert renamed.previous_name == "eng"
    assert isinstance(relabelled, TeamChanged)
    assert relabelled.metadata == {"o": 1}


def test_a_revoked_key_is_still_renamed() -> None:
    _, _, key = fresh()
    key.revoke(actor="admin")
    key.pull_events()
    assert management.change_key(key, actor="user:u", name="old laptop")
    [event] = key.pull_events()
    assert isinstance(event, KeyChanged)
    assert audit_facts(event).data["name"] == "old laptop"


@pytest.mark.parametrize("name", ["", "   ", "\t\n"])
def test_a_blank_name_is_refused(name: str) -> None:
    org, team, key = fresh()
    with pytest.raises(InvalidValue):
        management.change_org(org, actor="a", name=name)
    with pytest.raises(InvalidValue):
        management.change_team(team, actor="a", name=name)
    with pytest.raises(InvalidValue):
        management.change_key(key, actor="a", name=name)


@given(st.integers(min_value=0, max_value=3 * MAX_METADATA_BYTES))
def test_metadata_is_kept_up_to_its_size(size: int) -> None:
    metadata: dict[str, Any] = {"x": "y" * size}
    encoded = len('{"x":""}') + size
    if encoded <= MAX_METADATA_BYTES:
        assert management.checked_metadata(metadata) is metadata
    else:
        with pytest.raises(InvalidValue, match="bytes as JSON"):
            management.checked_metadata(metadata)


def test_deleting_a_team_revokes_its_keys_and_closes_it() -> None:
    org, team, key = fresh()
    other, _ = VirtualKey.issue(team, "second", actor="admin")
    management.delete_team(team, [key, other], actor="admin")
    assert team.deleted_at is not None
    assert key.revoked_at is not None
    assert other.revoked_at is not None
    [deleted] = team.pull_events()
    assert isinstance(deleted, TeamDeleted)
    assert deleted.revoked_keys == (key.id, other.id)
    assert isinstance(key.pull_events()[-1], KeyRevoked)
    for refused in (
        lambda: VirtualKey.issue(team, "late", actor="admin"),
        lambda: management.change_team(team, actor="a", name="again"),
        lambda: management.delete_team(team, [], actor="a"),
    ):
        with pytest.raises(Conflict, match="deleted"):
            refused()
    elsewhere = Team.create(org, "other", actor="admin")
    with pytest.raises(ValueError, match="not of team"):
        management.delete_team(elsewhere, [other], actor="admin")


@pytest.mark.parametrize(
    ("holdings", "detail"),
    [
        (OrgHoldings(1, 0, 0), "1 team: first delete its teams"),
        (OrgHoldings(2, 1, 0), "2 teams, 1 SCIM token: first delete its teams, revoke its SCIM"),
        (OrgHoldings(0, 0, 3), "3 SSO connections: first delete its SSO connections"),
    ],
)
def test_an_org_holding_anything_live_is_not_deleted(holdings: OrgHoldings, detail: str) -> None:
    org, _, _ = fresh()
    with pytest.raises(Conflict, match=detail):
        management.delete_org(org, holdings, [], actor="admin")
    assert org.deleted_at is None
    assert org.pull_events() == []


def test_deleting_an_org_deactivates_its_people_the_last_owner_too() -> None:
    org, _, _ = fresh()
    owner = User.create(org, "o@x.io", "owner", actor="admin")
    viewer = User.create(org, "v@x.io", "viewer", actor="admin")
    for user in (owner, viewer):
        user.pull_events()
    with pytest.raises(Conflict, match="last active owner"):
        owner.change(actor="admin", active_owners=1, active=False)
    management.delete_org(org, NOTHING, [owner, viewer], actor="admin")
    assert org.deleted_at is not None
    assert isinstance(org.pull_events()[-1], OrgDeleted)
    for user in (owner, viewer):
        assert user.active is False
        [event] = user.pull_events()
        assert isinstance(event, UserChanged)
        assert audit_facts(event).data == {"org_id": org.id, "active": False}
    with pytest.raises(Conflict, match="deleted"):
        Team.create(org, "late", actor="admin")
    with pytest.raises(Conflict, match="deleted"):
        management.change_org(org, actor="admin", name="revived")
    stranger = User.create(Org.create("other", actor="a"), "s@x.io", "member", actor="a")
    with pytest.raises(ValueError, match="not of org"):
        management.delete_org(Org.create("third", actor="a"), NOTHING, [stranger], actor="a")
