"""The admin API's access rules: who sees and changes what, as the application layer decides."""

from __future__ import annotations

import pytest

from application.teams.access import (
    ROOT,
    Principal,
    conversations_listed,
    key_holder,
    key_holder_named,
    requests_listed,
    require_acting_on,
    require_analytics_beyond_own_keys,
    require_conversation_deleter,
    require_conversation_reader,
    require_domain_owner,
    require_forecast_of_key,
    require_granting,
    require_key_change,
    require_not_declared,
    require_prompt_writer,
    require_self_or_acting_on,
)
from domains.shared.errors import Conflict, Forbidden, InvalidValue, NotFound


def person(role: str, org: str = "o1", user: str = "u1") -> Principal:
    return Principal(actor=f"user:{user}", role=role, org_id=org, user_id=user)  # type: ignore[arg-type]


def test_the_admin_key_sees_every_org_and_a_person_their_own() -> None:
    assert ROOT.is_root
    assert ROOT.sees("o1")
    assert ROOT.sees("o2")
    assert person("owner").sees("o1")
    assert not person("owner").sees("o2")


def test_another_orgs_resource_is_a_not_found_named_like_a_missing_one() -> None:
    with pytest.raises(NotFound, match=r"^There is no such team\.$"):
        person("owner").require_read("o2", "team")
    with pytest.raises(NotFound, match="no such team"):
        person("owner").require_manage("o2", "team")


def test_members_and_viewers_may_not_change_their_org() -> None:
    person("admin").require_manage("o1", "team")
    for role in ("member", "viewer"):
        with pytest.raises(Forbidden, match=f"The role '{role}' may not change this team"):
            person(role).require_manage("o1", "team")


def test_only_the_admin_key_is_root() -> None:
    ROOT.require_root()
    with pytest.raises(Forbidden, match="Only the operator's admin key"):
        person("owner").require_root()


def test_a_listing_covers_a_persons_own_org_and_naming_another_is_not_found() -> None:
    assert ROOT.listed_org(None) is None
    assert ROOT.listed_org("o2") == "o2"
    assert person("viewer").listed_org(None) == "o1"
    assert person("viewer").listed_org("o1") == "o1"
    with pytest.raises(NotFound, match="no such org"):
        person("viewer").listed_org("o2")


def test_keys_are_changed_by_managers_and_by_members_when_their_own() -> None:
    require_key_change(person("admin"), "o1", None)
    require_key_change(person("member", user="u1"), "o1", "u1")
    with pytest.raises(Forbidden, match="their own keys only"):
        require_key_change(person("member", user="u1"), "o1", "u2")
    with pytest.raises(Forbidden, match="their own keys only"):
        require_key_change(person("member", user="u1"), "o1", None)
    with pytest.raises(Forbidden, match="'viewer' may not change keys"):
        require_key_change(person("viewer"), "o1", "u1")
    with pytest.raises(NotFound, match="no such key"):
        require_key_change(person("owner"), "o2", None)


def test_a_members_new_key_is_their_own_and_a_managers_is_whoever_they_name() -> None:
    assert key_holder_named(person("member", user="u1"), None) == "u1"
    assert key_holder_named(person("member", user="u1"), "u1") == "u1"
    with pytest.raises(Forbidden, match="for themselves only"):
        key_holder_named(person("member", user="u1"), "u2")
    with pytest.raises(Forbidden, match="'viewer' may not issue keys"):
        key_holder_named(person("viewer"), None)
    assert key_holder_named(person("admin"), "u2") == "u2"
    assert key_holder_named(person("admin"), None) is None
    assert key_holder_named(ROOT, "anyone") == "anyone"


async def test_a_managers_new_key_is_for_a_user_of_the_team_s_org_only() -> None:
    orgs = {"u1": "o1", "u2": "o1", "x9": "o2"}
    asked: list[str] = []

    async def org_of(user_id: str) -> str:
        asked.append(user_id)
        return orgs[user_id]

    assert await key_holder(person("admin"), "u2", "o1", org_of) == "u2"
    assert await key_holder(person("owner"), None, "o1", org_of) is None
    with pytest.raises(NotFound, match="no such user"):
        await key_holder(person("admin"), "x9", "o1", org_of)
    # a member's key is their own, and the admin key names anyone: nobody is looked up
    asked.clear()
    assert await key_holder(person("member", user="u1"), None, "o1", org_of) == "u1"
    assert await key_holder(ROOT, "x9", "o1", org_of) == "x9"
    assert asked == []


def test_roles_are_granted_and_acted_on_from_above_only() -> None:
    require_granting(person("owner"), "owner")
    require_granting(person("admin"), "admin")
    with pytest.raises(Forbidden, match="'admin' may not grant the role 'owner'"):
        require_granting(person("admin"), "owner")
    with pytest.raises(InvalidValue):
        require_granting(person("owner"), "emperor")
    require_acting_on(person("admin"), "o1", "member")
    with pytest.raises(Forbidden, match="may not act on a user whose role is 'owner'"):
        require_acting_on(person("admin"), "o1", "owner")
    with pytest.raises(Forbidden, match="may not change this user"):
        require_acting_on(person("member"), "o1", "viewer")


def test_a_person_reads_their_own_tokens_whatever_their_role() -> None:
    require_self_or_acting_on(person("viewer", user="u1"), "u1", "o1", "viewer")
    with pytest.raises(Forbidden):
        require_self_or_acting_on(person("viewer", user="u1"), "u2", "o1", "viewer")


def test_viewers_do_not_write_prompts_and_only_owners_declare_domains() -> None:
    require_prompt_writer(person("member"))
    with pytest.raises(Forbidden, match="'viewer' may not change the prompt library"):
        require_prompt_writer(person("viewer"))
    require_domain_owner(person("owner"), "o1")
    require_domain_owner(ROOT, "o1")
    with pytest.raises(Forbidden, match="Only an owner of the org"):
        require_domain_owner(person("admin"), "o1")


def test_a_declared_connection_is_changed_in_the_configuration_file() -> None:
    require_not_declared(False)
    with pytest.raises(Conflict, match="declared in the configuration file"):
        require_not_declared(True)


def test_conversations_are_listed_read_and_deleted_by_whom_the_rules_say() -> None:
    assert conversations_listed(ROOT, None) == (None, True)
    assert conversations_listed(person("admin"), "u9") == ("u9", False)
    assert conversations_listed(person("member", user="u1"), None) == ("u1", False)
    with pytest.raises(Forbidden, match="their own conversations only"):
        conversations_listed(person("viewer", user="u1"), "u2")
    require_conversation_reader(person("viewer", user="u1"), "u1")
    require_conversation_reader(ROOT, "u1")
    with pytest.raises(Forbidden, match="read by its owner only"):
        require_conversation_reader(person("owner", user="u2"), "u1")
    require_conversation_deleter(person("admin", user="u2"), "u1")
    with pytest.raises(Forbidden, match="deleted by its owner or the org's owners"):
        require_conversation_deleter(person("member", user="u2"), "u1")
    with pytest.raises(Forbidden):
        require_conversation_reader(person("member", user=""), None)


def test_the_request_log_is_read_by_org_but_a_member_reads_their_own_keys_records() -> None:
    assert requests_listed(ROOT, None) is None
    assert requests_listed(ROOT, "u9") == "u9"
    for role in ("owner", "admin", "viewer"):
        assert requests_listed(person(role), None) is None
        assert requests_listed(person(role), "u9") == "u9"
    assert requests_listed(person("member"), None) == "u1"
    assert requests_listed(person("member"), "u1") == "u1"
    with pytest.raises(Forbidden):
        requests_listed(person("member"), "u9")


def test_a_member_reads_analytics_and_forecasts_of_their_own_keys_only() -> None:
    for reader in (ROOT, person("owner"), person("admin"), person("viewer")):
        require_analytics_beyond_own_keys(reader, "an org's")
        require_forecast_of_key(reader, "someone-else")
    member = person("member", user="u1")
    with pytest.raises(Forbidden, match=r"their own keys only, not a team's\.$"):
        require_analytics_beyond_own_keys(member, "a team's")
    require_forecast_of_key(member, "u1")
    with pytest.raises(Forbidden, match="forecasts of their own keys only"):
        require_forecast_of_key(member, "u2")
    with pytest.raises(Forbidden):
        require_forecast_of_key(member, None)
