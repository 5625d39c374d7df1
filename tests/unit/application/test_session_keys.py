"""Which of a person's keys a dashboard session chats with."""

from __future__ import annotations

import pytest

from application.teams.sessions import (
    KeyChoiceNeeded,
    NoKeyOfTheirs,
    UnknownKeyOfTheirs,
    choose_key,
)
from domains.shared.caller import Caller

NOW = 1_800_000_000.0


def key(key_id: str, *, org_id: str = "org1", expires_at: float | None = None) -> Caller:
    return Caller(
        key_id=key_id,
        key_prefix="fr-abcdefgh",
        team_id="team1",
        org_id=org_id,
        user_id="user1",
        expires_at=expires_at,
    )


def test_the_only_key_is_chosen_without_naming_it() -> None:
    assert choose_key([key("k1")], None, org_id="org1", now=NOW).key_id == "k1"


def test_a_named_key_is_chosen_among_several() -> None:
    keys = [key("k1"), key("k2")]
    assert choose_key(keys, "k2", org_id="org1", now=NOW).key_id == "k2"
    with pytest.raises(KeyChoiceNeeded, match="2 active keys"):
        choose_key(keys, None, org_id="org1", now=NOW)


def test_expired_keys_and_keys_of_another_org_do_not_count() -> None:
    keys = [key("old", expires_at=NOW - 1), key("elsewhere", org_id="org2"), key("k1")]
    assert choose_key(keys, None, org_id="org1", now=NOW).key_id == "k1"
    for unusable in ("old", "elsewhere", "nobodys"):
        with pytest.raises(UnknownKeyOfTheirs):
            choose_key(keys, unusable, org_id="org1", now=NOW)


def test_a_person_without_a_key_is_told_to_ask_for_one() -> None:
    with pytest.raises(NoKeyOfTheirs) as refused:
        choose_key([key("old", expires_at=NOW)], None, org_id="org1", now=NOW)
    assert refused.value.code == "no_personal_key"
