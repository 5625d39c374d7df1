"""Virtual keys: the secret's shape, its prefix and hash, and what the events may carry."""

from __future__ import annotations

import hashlib
import re

import msgspec
import pytest

from application.audit.formatting import audit_facts
from domains.shared.errors import Conflict
from domains.teams.events import KeyIssued, KeyRevoked, OrgCreated, TeamCreated
from domains.teams.model import (
    KEY_PREFIX_LENGTH,
    Org,
    Team,
    VirtualKey,
    hash_secret,
    looks_like_virtual_key,
)

SECRET_SHAPE = re.compile(r"fr-[A-Za-z0-9_-]{32,}")
HEX64 = re.compile(r"[0-9a-f]{64}")


@pytest.fixture
def team() -> Team:
    org = Org.create("Acme", actor="admin")
    return Team.create(org, "Research", actor="admin")


def test_org_and_team_record_one_creation_event_each() -> None:
    org = Org.create("Acme", actor="admin")
    team = Team.create(org, "Research", actor="alice")

    [org_event] = org.pull_events()
    [team_event] = team.pull_events()
    assert isinstance(org_event, OrgCreated)
    assert (org_event.org_id, org_event.name, org_event.actor) == (org.id, "Acme", "admin")
    assert isinstance(team_event, TeamCreated)
    assert (team_event.team_id, team_event.org_id, team_event.actor) == (team.id, org.id, "alice")
    assert team.org_id == org.id
    assert org.pull_events() == []  # pulled once


def test_secret_is_fr_and_at_least_32_url_safe_chars(team: Team) -> None:
    _, secret = VirtualKey.issue(team, "ci", actor="admin")
    assert SECRET_SHAPE.fullmatch(secret), secret
    assert looks_like_virtual_key(secret)


def test_every_issue_gives_a_new_secret(team: Team) -> None:
    secrets = {VirtualKey.issue(team, "ci", actor="admin")[1] for _ in range(20)}
    assert len(secrets) == 20


def test_prefix_is_the_secrets_first_characters(team: Team) -> None:
    key, secret = VirtualKey.issue(team, "ci", actor="admin")
    assert key.prefix == secret[:KEY_PREFIX_LENGTH]
    assert key.prefix.startswith("fr-")
    assert len(key.prefix) == KEY_PREFIX_LENGTH < len(secret)


def test_hash_is_sha256_hex_of_the_secret_and_never_the_secret(team: Team) -> None:
    key, secret = VirtualKey.issue(team, "ci", actor="admin")
    assert HEX64.fullmatch(key.secret_hash)
    assert key.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert key.secret_hash == hash_secret(secret)
    assert key.secret_hash != secret
    assert secret not in key.secret_hash


def test_key_belongs_to_the_team_and_its_org(team: Team) -> None:
    key, _ = VirtualKey.issue(team, "ci", actor="admin", user_id="u1", models=("gpt-4o",))
    assert (key.team_id, key.org_id, key.user_id, key.models) == (
        team.id,
        team.org_id,
        "u1",
        ("gpt-4o",),
    )
    assert key.active


def test_key_issued_event_carries_neither_secret_nor_hash(team: Team) -> None:
    key, secret = VirtualKey.issue(team, "ci", actor="admin", models=("gpt-4o",))
    [event] = key.pull_events()
    assert isinstance(event, KeyIssued)
    assert (event.key_id, event.prefix, event.models) == (key.id, key.prefix, ("gpt-4o",))

    wire = msgspec.json.encode(event).decode()
    facts = audit_facts(event)
    audit = msgspec.json.encode(facts).decode()
    for text in (wire, audit, repr(event), repr(facts)):
        assert secret not in text
        assert key.secret_hash not in text
    # the prefix alone is not the secret: the rest of it is nowhere
    assert secret[KEY_PREFIX_LENGTH:] not in wire


def test_revoke_records_key_revoked_and_deactivates(team: Team) -> None:
    key, _ = VirtualKey.issue(team, "ci", actor="admin")
    key.pull_events()
    key.revoke(actor="bob")
    assert not key.active
    assert key.revoked_at is not None
    [event] = key.pull_events()
    assert isinstance(event, KeyRevoked)
    assert (event.key_id, event.team_id, event.org_id, event.actor) == (
        key.id,
        team.id,
        team.org_id,
        "bob",
    )


def test_revoking_twice_is_a_conflict_and_records_nothing_more(team: Team) -> None:
    key, _ = VirtualKey.issue(team, "ci", actor="admin")
    key.revoke(actor="bob")
    first_revoked_at = key.revoked_at
    key.pull_events()
    with pytest.raises(Conflict) as caught:
        key.revoke(actor="bob")
    assert caught.value.code == "conflict"
    assert key.id in caught.value.message
    assert key.revoked_at == first_revoked_at
    assert key.pull_events() == []


@pytest.mark.parametrize(
    "value",
    ["", "fr-", "fr-short", "sk-" + "a" * 40, "FR-" + "a" * 40, " fr-" + "a" * 40, "a" * 43],
)
def test_looks_like_virtual_key_rejects_other_strings(value: str) -> None:
    assert not looks_like_virtual_key(value)


def test_rotation_issues_a_new_key_and_bounds_the_old_one() -> None:
    from datetime import timedelta

    from domains.shared.clock import utcnow
    from domains.teams.events import KeyIssued, KeyRotated
    from domains.teams.model import Org, Team, VirtualKey

    team = Team.create(Org.create("o", actor="a"), "t", actor="a")
    old, _ = VirtualKey.issue(team, "k", actor="a", models=("m",))
    old.pull_events()
    new, secret = old.rotate(actor="a", grace=timedelta(seconds=60))
    assert new.id != old.id
    assert new.models == old.models
    assert secret.startswith("fr-")
    assert old.expires_at is not None
    assert utcnow() < old.expires_at <= utcnow() + timedelta(seconds=60)
    (rotated,) = old.pull_events()
    assert isinstance(rotated, KeyRotated)
    assert rotated.new_key_id == new.id
    assert isinstance(new.pull_events()[0], KeyIssued)
    # a shorter existing expiry is kept, never extended by a rotation
    soon = utcnow() + timedelta(seconds=5)
    short, _ = VirtualKey.issue(team, "s", actor="a", expires_at=soon)
    short.rotate(actor="a", grace=timedelta(hours=1))
    assert short.expires_at == soon
