"""Users and admin tokens: roles and who may grant them, the last owner, the token's secret."""

from __future__ import annotations

import hashlib
import re

import msgspec
import pytest

from application.audit.formatting import audit_facts
from domains.shared.errors import Conflict, InvalidValue
from domains.teams.events import AdminTokenIssued, AdminTokenRevoked, UserChanged, UserCreated
from domains.teams.model import Org
from domains.teams.users import (
    ADMIN_TOKEN_PREFIX_LENGTH,
    ROLES,
    AdminToken,
    User,
    email_key,
    looks_like_admin_token,
    manages,
    may_grant,
)

TOKEN_SHAPE = re.compile(r"fra-[A-Za-z0-9_-]{43}")


@pytest.fixture
def org() -> Org:
    return Org.create("Acme", actor="admin")


def user(org: Org, role: str = "member", email: str = "ada@example.com") -> User:
    made = User.create(org, email, role, actor="admin", display_name="Ada")
    made.pull_events()
    return made


def test_creation_records_one_event_with_the_users_fields(org: Org) -> None:
    ada = User.create(
        org, "Ada@Example.com", "admin", actor="user:x", display_name="Ada", external_id="00u1"
    )
    [event] = ada.pull_events()
    assert isinstance(event, UserCreated)
    assert (event.user_id, event.org_id, event.email, event.role) == (
        ada.id,
        org.id,
        "Ada@Example.com",
        "admin",
    )
    assert (event.active, event.external_id, event.actor) == (True, "00u1", "user:x")
    assert ada.active
    assert ada.email_key == "ada@example.com"
    facts = audit_facts(event)
    assert (facts.actor, facts.action, facts.target) == ("user:x", "user.create", f"user:{ada.id}")


def test_email_is_compared_case_insensitively() -> None:
    assert email_key("Ada.Lovelace@Example.COM") == email_key("ada.lovelace@example.com")


@pytest.mark.parametrize(
    "email", ["", "ada", "ada@", "@example.com", "a b@x.io", "a@b@c", "x\x00@y"]
)
def test_malformed_emails_are_refused(org: Org, email: str) -> None:
    with pytest.raises(InvalidValue):
        User.create(org, email, "member", actor="admin")


def test_unknown_roles_and_blank_names_are_refused(org: Org) -> None:
    with pytest.raises(InvalidValue):
        User.create(org, "ada@example.com", "superuser", actor="admin")
    with pytest.raises(InvalidValue):
        User.create(org, "ada@example.com", "member", actor="admin", display_name="  ")
    ada = user(org)
    with pytest.raises(InvalidValue):
        ada.change(actor="admin", active_owners=0, role="root")


def test_owners_grant_any_role_admins_any_but_owner_others_none() -> None:
    granted = {(who, role) for who in ROLES for role in ROLES if may_grant(who, role)}
    assert granted == {
        ("owner", "owner"),
        ("owner", "admin"),
        ("owner", "member"),
        ("owner", "viewer"),
        ("admin", "admin"),
        ("admin", "member"),
        ("admin", "viewer"),
    }
    assert [role for role in ROLES if manages(role)] == ["owner", "admin"]


def test_a_change_records_the_fields_that_changed_and_their_new_values(org: Org) -> None:
    ada = user(org, "member")
    assert ada.change(actor="user:boss", active_owners=1, role="admin", display_name="Ada L.")
    [event] = ada.pull_events()
    assert isinstance(event, UserChanged)
    assert event.changed == ("role", "display_name")
    assert (event.role, event.active, event.display_name) == ("admin", True, "Ada L.")
    assert audit_facts(event).data == {
        "org_id": org.id,
        "role": "admin",
        "display_name": "Ada L.",
    }
    assert audit_facts(event).actor == "user:boss"


def test_a_change_to_the_same_values_records_nothing(org: Org) -> None:
    ada = user(org, "viewer")
    assert not ada.change(actor="admin", active_owners=0, role="viewer", active=True)
    assert not ada.change(actor="admin", active_owners=0)
    assert ada.pull_events() == []


def test_display_name_none_clears_it_and_unset_keeps_it(org: Org) -> None:
    ada = user(org)
    ada.change(actor="admin", active_owners=0, active=False)
    assert ada.display_name == "Ada"
    ada.change(actor="admin", active_owners=0, display_name=None)
    assert ada.display_name is None


@pytest.mark.parametrize(
    "change", [{"role": "admin"}, {"active": False}, {"role": "viewer", "active": False}]
)
def test_the_last_active_owner_is_neither_demoted_nor_deactivated(
    org: Org, change: dict[str, object]
) -> None:
    owner = user(org, "owner")
    with pytest.raises(Conflict, match="last active owner"):
        owner.change(actor="admin", active_owners=1, **change)  # type: ignore[arg-type]
    assert owner.role == "owner"
    assert owner.active
    assert owner.pull_events() == []


def test_an_owner_with_another_active_owner_may_step_down(org: Org) -> None:
    owner = user(org, "owner")
    assert owner.change(actor="admin", active_owners=2, role="admin")
    assert owner.role == "admin"


def test_the_last_owner_may_still_be_renamed(org: Org) -> None:
    owner = user(org, "owner")
    assert owner.change(actor="admin", active_owners=1, display_name="The Boss")


def test_an_inactive_owner_is_not_counted_and_may_be_changed(org: Org) -> None:
    owner = user(org, "owner")
    owner.change(actor="admin", active_owners=2, active=False)
    assert owner.change(actor="admin", active_owners=1, role="viewer")  # not an active owner


def test_admin_token_secret_is_shown_once_and_kept_as_a_hash(org: Org) -> None:
    ada = user(org, "admin")
    token, secret = AdminToken.issue(ada, actor="admin")
    assert TOKEN_SHAPE.fullmatch(secret), secret
    assert looks_like_admin_token(secret)
    assert not looks_like_admin_token("fr-" + secret[4:])
    assert token.prefix == secret[:ADMIN_TOKEN_PREFIX_LENGTH]
    assert token.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert (token.user_id, token.org_id) == (ada.id, org.id)
    [event] = token.pull_events()
    assert isinstance(event, AdminTokenIssued)
    encoded = msgspec.json.encode(event).decode() + repr(audit_facts(event))
    assert secret not in encoded
    assert token.secret_hash not in encoded
    assert secret[ADMIN_TOKEN_PREFIX_LENGTH:] not in encoded


def test_every_token_is_new(org: Org) -> None:
    ada = user(org, "admin")
    assert len({AdminToken.issue(ada, actor="admin")[1] for _ in range(20)}) == 20


def test_a_deactivated_user_gets_no_token(org: Org) -> None:
    ada = user(org)
    ada.change(actor="admin", active_owners=0, active=False)
    with pytest.raises(Conflict):
        AdminToken.issue(ada, actor="admin")


def test_a_token_is_revoked_once(org: Org) -> None:
    token, _ = AdminToken.issue(user(org), actor="admin")
    token.pull_events()
    token.revoke(actor="user:me")
    assert token.revoked
    [event] = token.pull_events()
    assert isinstance(event, AdminTokenRevoked)
    assert audit_facts(event).target == f"admin_token:{token.id}"
    with pytest.raises(Conflict):
        token.revoke(actor="user:me")
