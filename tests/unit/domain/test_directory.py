"""People and groups as the directory provisions them."""

from __future__ import annotations

import pytest

from domains.shared.errors import Conflict, InvalidValue
from domains.teams import directory
from domains.teams.directory import Entry, StaleVersion
from domains.teams.events import (
    GroupChanged,
    GroupCreated,
    GroupMembersChanged,
    UserChanged,
    UserCreated,
    UserDeleted,
    UserIdentityChanged,
)
from domains.teams.groups import Group
from domains.teams.model import Org


def org() -> Org:
    made = Org.create("acme", actor="admin")
    made.pull_events()
    return made


def test_a_person_is_provisioned_without_an_address() -> None:
    user = directory.provision(org(), Entry(user_name="Ann"), role="member", actor="scim:t")
    assert user.email is None
    assert user.user_name_key == "ann"
    [event] = user.pull_events()
    assert isinstance(event, UserCreated)
    assert event.user_name == "Ann"


def test_an_update_records_what_changed_and_bumps_the_version() -> None:
    user = directory.provision(org(), Entry(user_name="ann"), role="member", actor="scim:t")
    user.pull_events()
    changed = directory.update(
        user,
        Entry(user_name="ann", active=False, email="ann@example.com", attributes={"title": "x"}),
        actor="scim:t",
        expected_version=1,
    )
    assert changed
    assert user.version == 2
    identity, profile = user.pull_events()
    assert isinstance(identity, UserIdentityChanged)
    assert identity.changed == ("email",)
    assert isinstance(profile, UserChanged)
    assert profile.changed == ("active",)
    assert not directory.update(
        user,
        Entry(user_name="ann", active=False, email="ann@example.com", attributes={"title": "x"}),
        actor="scim:t",
    )
    with pytest.raises(StaleVersion):
        directory.update(user, Entry(user_name="other"), actor="scim:t", expected_version=1)


def test_a_deleted_person_is_inactive_and_stays_deleted() -> None:
    user = directory.provision(
        org(), Entry(user_name="ann", external_id="x1"), role="owner", actor="scim:t"
    )
    directory.delete(user, actor="scim:t")
    assert not user.active
    assert user.deleted
    assert user.external_id is None
    assert isinstance(user.pull_events()[-1], UserDeleted)
    with pytest.raises(Conflict):
        directory.update(user, Entry(user_name="ann"), actor="scim:t")
    with pytest.raises(Conflict):
        user.change(actor="admin", active_owners=1, active=True)


@pytest.mark.parametrize("name", ["", "   ", "a\x00b", "x" * 301])
def test_a_login_name_must_be_usable(name: str) -> None:
    with pytest.raises(InvalidValue):
        Entry(user_name=name)


def test_group_membership_changes_are_recorded_as_deltas() -> None:
    group = Group.create(
        org(), "Engineering", actor="scim:t", team_id="team-1", members={"u1": None}
    )
    created, joined = group.pull_events()
    assert isinstance(created, GroupCreated)
    assert isinstance(joined, GroupMembersChanged)
    assert joined.added == ("u1",)
    moved = group.change(
        display_name="Platform", external_id=None, members={"u2": "Bob"}, actor="scim:t"
    )
    assert moved == ("u2", "u1")
    renamed, members = group.pull_events()
    assert isinstance(renamed, GroupChanged)
    assert renamed.changed == ("display_name",)
    assert isinstance(members, GroupMembersChanged)
    assert (members.added, members.removed) == (("u2",), ("u1",))
    assert group.version == 2
    group.change(display_name="Platform", external_id=None, members={"u2": "Robert"}, actor="s")
    assert group.version == 3  # a new label counts, though no one moved
    assert group.pull_events() == []
