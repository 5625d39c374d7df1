"""Builders of events for tests (msgspec structs do not come from `st.from_type`).

Each builder fills every field with a plausible value; a test passes only what it is about:
`key_revoked(actor="bob")`. `one_of_each()` is one instance of every concrete event, and
`audit_variants()` adds one more for each branch of how an event reads as an audit row.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from domains.billing.events import (
    BudgetAboveCapRefused,
    BudgetCapSet,
    BudgetSet,
    BudgetThresholdCrossed,
    PriceSet,
    RateLimitSet,
    RequestRefused,
    UsageRecorded,
)
from domains.conversations.events import (
    ConversationDeleted,
    ConversationExtended,
    ConversationStarted,
    PromptDeleted,
    PromptPublished,
)
from domains.providers.events import CompletionFinished, ConfigChanged
from domains.shared.delivery import DeadLetterReplayed, EventDeadLettered
from domains.shared.events import Event
from domains.teams.events import (
    AccessRefused,
    AdminTokenIssued,
    AdminTokenRevoked,
    GroupChanged,
    GroupCreated,
    GroupDeleted,
    GroupMembersChanged,
    KeyChanged,
    KeyIssued,
    KeyRevoked,
    KeyRotated,
    OrgChanged,
    OrgCreated,
    OrgDeleted,
    OrgSignInDomainsSet,
    ScimTokenIssued,
    ScimTokenRevoked,
    SignedIn,
    SignedOut,
    SignInFailed,
    SsoConnectionChanged,
    SsoConnectionCreated,
    SsoConnectionDeleted,
    SsoIdentityLinked,
    SsoRoleCapped,
    TeamChanged,
    TeamCreated,
    TeamDeleted,
    TeamRenamed,
    UserChanged,
    UserCreated,
    UserDeleted,
    UserIdentityChanged,
)

WHEN = datetime(2025, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)


def completion(**overrides: Any) -> CompletionFinished:
    fields: dict[str, Any] = {
        "request_id": "req-1",
        "endpoint": "chat",
        "key_id": "key-1",
        "team_id": "team-1",
        "org_id": "org-1",
        "user_id": "user-1",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "upstream_model": "gpt-4o-mini-2024-07-18",
        "stream": True,
        "status": 200,
        "outcome": "ok",
        "input_tokens": 1234,
        "output_tokens": 567,
        "cached_tokens": 200,
        "usage_reported": True,
        "latency_ms": 12.5,
        "transport": "websocket",
        "occurred_at": WHEN,
    }
    fields.update(overrides)
    return CompletionFinished(**fields)


def usage(**overrides: Any) -> UsageRecorded:
    fields: dict[str, Any] = {
        "usage_id": "usage-1",
        "source_event_id": "event-1",
        "request_id": "req-1",
        "org_id": "org-1",
        "team_id": "team-1",
        "user_id": None,
        "key_id": "key-1",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "endpoint": "chat",
        "input_tokens": 1234,
        "output_tokens": 567,
        "cached_tokens": 0,
        "cost_usd": Decimal("0.000525300000001"),
        "priced": True,
        "occurred_at": WHEN,
    }
    fields.update(overrides)
    return UsageRecorded(**fields)


def org_created(**overrides: Any) -> OrgCreated:
    fields: dict[str, Any] = {"org_id": "org-1", "name": "Acme", "actor": "admin"}
    fields.update(overrides)
    return OrgCreated(**fields)


def team_created(**overrides: Any) -> TeamCreated:
    fields: dict[str, Any] = {
        "team_id": "team-1",
        "org_id": "org-1",
        "name": "Research",
        "actor": "admin",
    }
    fields.update(overrides)
    return TeamCreated(**fields)


def key_revoked(**overrides: Any) -> KeyRevoked:
    fields: dict[str, Any] = {
        "key_id": "key-1",
        "team_id": "team-1",
        "org_id": "org-1",
        "actor": "admin",
    }
    fields.update(overrides)
    return KeyRevoked(**fields)


def access_refused(**overrides: Any) -> AccessRefused:
    fields: dict[str, Any] = {
        "surface": "v1",
        "prefix": "fr-abcdefgh",
        "reason": "invalid",
        "source_ip": "127.0.0.1",
        "count": 1,
        "first_at": WHEN,
        "last_at": WHEN,
    }
    fields.update(overrides)
    return AccessRefused(**fields)


def request_refused(**overrides: Any) -> RequestRefused:
    fields: dict[str, Any] = {
        "kind": "budget",
        "key_id": "key-1",
        "team_id": "team-1",
        "org_id": "org-1",
        "user_id": None,
        "limit": "team:team-1:month:2026-11",
        "measure": "usd",
        "count": 1,
        "first_at": WHEN,
        "last_at": WHEN,
    }
    fields.update(overrides)
    return RequestRefused(**fields)


def one_of_each() -> list[Event]:
    """One instance of every concrete event, with every optional field filled in."""
    return [
        org_created(name="Acme ünïcode", occurred_at=WHEN),
        team_created(),
        KeyIssued(
            key_id="key-1",
            team_id="team-1",
            org_id="org-1",
            user_id="user-1",
            name="ci",
            prefix="fr-abcdefgh",
            models=("gpt-4o-mini", "openai/gpt-4o"),
            actor="admin",
        ),
        key_revoked(),
        KeyRotated(
            key_id="key-2",
            new_key_id="key-3",
            team_id="team-1",
            org_id="org-1",
            expires_at=WHEN,
            actor="admin",
        ),
        UserCreated(
            user_id="user-1",
            org_id="org-1",
            email="Ada@Example.com",
            display_name="Ada Lovelace",
            role="admin",
            active=True,
            external_id="okta-00u1",
            actor="admin",
        ),
        UserChanged(
            user_id="user-1",
            org_id="org-1",
            role="viewer",
            active=False,
            display_name="Ada",
            changed=("role", "active", "display_name"),
            actor="user:user-2",
        ),
        AdminTokenIssued(
            token_id="tok-1", user_id="user-1", org_id="org-1", prefix="fra-abcdefgh", actor="admin"
        ),
        AdminTokenRevoked(token_id="tok-1", user_id="user-1", org_id="org-1", actor="user:user-1"),
        completion(),
        usage(),
        BudgetSet(
            scope="team",
            scope_id="team-1",
            period="month",
            max_usd=Decimal("12345678.123456789012"),
            max_tokens=1_000_000,
            actor="admin",
        ),
        BudgetCapSet(
            org_id="org-1",
            period="month",
            max_usd=Decimal("1000.5"),
            max_tokens=None,
            actor="admin",
        ),
        BudgetAboveCapRefused(
            scope="org",
            scope_id="org-1",
            org_id="org-1",
            period="month",
            max_usd=None,
            max_tokens=None,
            actor="user:user-1",
        ),
        RateLimitSet(scope="key", scope_id="key-1", rpm=60, tpm=100_000, actor="admin"),
        PriceSet(
            provider="local",
            model="llama3.1",
            input_per_mtok=Decimal("0.1"),
            output_per_mtok=Decimal("0.000001"),
            cached_input_per_mtok=Decimal("0.05"),
            actor="admin",
        ),
        BudgetThresholdCrossed(
            scope="team",
            scope_id="team-1",
            period="month",
            window="team:team-1:month:2026-11",
            measure="usd",
            percent=80,
            spent="8.000000000001",
            limit="10",
        ),
        request_refused(count=3),
        ConfigChanged(
            digest="ab" * 32,
            added=["openai", "openai/gpt-4o-mini"],
            removed=[],
            changed=["billing"],
        ),
        access_refused(count=200),
        ConversationStarted(
            conversation_id="conv-1",
            org_id="org-1",
            team_id="team-1",
            user_id="user-1",
            key_id="key-1",
            actor="key:key-1",
        ),
        ConversationExtended(
            conversation_id="conv-1",
            request_id="req-1",
            first_seq=2,
            messages=2,
            finish_reason="cancelled",
        ),
        ConversationDeleted(
            conversation_id="conv-1",
            org_id="org-1",
            team_id="team-1",
            user_id=None,
            messages=4,
            actor="user:user-1",
        ),
        PromptPublished(
            prompt_id="prompt-1",
            org_id="org-1",
            team_id="team-1",
            name="explain",
            version=2,
            variables=["tone", "topic"],
            actor="admin",
        ),
        PromptDeleted(
            prompt_id="prompt-1",
            org_id="org-1",
            team_id="team-1",
            name="explain",
            versions=2,
            actor="user:user-1",
        ),
        TeamRenamed(
            team_id="team-1", org_id="org-1", name="Eng", previous_name="Engineering", actor="a"
        ),
        UserIdentityChanged(
            user_id="user-1",
            org_id="org-1",
            user_name="ann@example.com",
            email=None,
            external_id="00u1",
            changed=("user_name", "email"),
            actor="scim:tok-1",
        ),
        UserDeleted(user_id="user-1", org_id="org-1", actor="scim:tok-1"),
        GroupCreated(
            group_id="g-1",
            org_id="org-1",
            display_name="Engineering",
            external_id=None,
            team_id="team-1",
            role=None,
            actor="scim:tok-1",
        ),
        GroupChanged(
            group_id="g-1",
            org_id="org-1",
            display_name="Eng",
            external_id="x",
            changed=("display_name",),
            actor="scim:tok-1",
        ),
        GroupMembersChanged(
            group_id="g-1",
            org_id="org-1",
            team_id="team-1",
            added=("user-1",),
            removed=(),
            actor="scim:tok-1",
        ),
        GroupDeleted(
            group_id="g-1", org_id="org-1", team_id=None, members=("user-1",), actor="scim:tok-1"
        ),
        ScimTokenIssued(token_id="tok-1", org_id="org-1", prefix="frs-abcdefgh", actor="admin"),
        ScimTokenRevoked(token_id="tok-1", org_id="org-1", actor="admin"),
        SsoConnectionCreated(
            connection_id="sso-1",
            org_id="org-1",
            kind="oidc",
            settings={"issuer": "https://idp.example", "role_map": {"eng": {"team": "Eng"}}},
            actor="admin",
        ),
        SsoConnectionChanged(
            connection_id="sso-1",
            org_id="org-1",
            changed=("client_secret", "scopes"),
            settings={"scopes": ["openid", "email"]},
            actor="user:u-1",
        ),
        SsoConnectionDeleted(connection_id="sso-1", org_id="org-1", actor="admin"),
        SignedIn(
            user_id="u-1",
            org_id="org-1",
            connection_id="sso-1",
            kind="saml",
            subject="ada@example.com",
            provisioned=True,
            source_ip="127.0.0.1",
        ),
        SignInFailed(
            connection_id="sso-1",
            reason="bad_nonce",
            source_ip="127.0.0.1",
            count=3,
            first_at=WHEN,
            last_at=WHEN,
        ),
        SignedOut(user_id="u-1", org_id="org-1", connection_id="sso-1", source_ip="::1"),
        OrgSignInDomainsSet(org_id="org-1", domains=("acme.test",), actor="user:u-1"),
        SsoIdentityLinked(
            user_id="u-1", org_id="org-1", connection_id="sso-1", subject="ada", basis="scim"
        ),
        SsoRoleCapped(
            user_id="u-1",
            org_id="org-1",
            connection_id="sso-1",
            wanted="owner",
            granted="admin",
            reach="admin",
        ),
        EventDeadLettered(
            dead_letter_id="dl-1",
            dead_event_id="ev-1",
            dead_event_type="UserDeactivated",
            subscriber="when_user_deactivated_end_sessions",
            error_class="OperationalError",
            attempts=6,
        ),
        DeadLetterReplayed(
            dead_letter_id="dl-1",
            dead_event_id="ev-1",
            dead_event_type="UserDeactivated",
            actor="cli",
        ),
        OrgChanged(
            org_id="org-1",
            name="Acme",
            metadata={"cost_center": "42", "tags": ["a", 1, None]},
            changed=("name", "metadata"),
            actor="admin",
        ),
        OrgDeleted(org_id="org-1", actor="admin"),
        TeamChanged(team_id="team-1", org_id="org-1", metadata={"owner": "ada"}, actor="a"),
        TeamDeleted(team_id="team-1", org_id="org-1", revoked_keys=("key-1",), actor="admin"),
        KeyChanged(
            key_id="key-1",
            team_id="team-1",
            org_id="org-1",
            name="ci",
            metadata={"ticket": "OPS-1"},
            changed=("name",),
            actor="user:u-1",
        ),
    ]


def audit_variants() -> list[Event]:
    """One more instance for each branch of how an event reads as an audit row: a removal, a
    kind of refusal, an optional field left out or filled in, each subset of what changed."""
    later = WHEN + timedelta(minutes=5)
    return [
        usage(endpoint="embeddings", user_id="user-1", status=502, outcome="error", stream=True),
        usage(priced=False, cost_usd=Decimal(0), usage_reported=False, transport="websocket"),
        BudgetSet(
            scope="org",
            scope_id="org-1",
            period="day",
            max_usd=None,
            max_tokens=None,
            actor="admin",
        ),
        BudgetSet(
            scope="key",
            scope_id="key-1",
            period="month",
            max_usd=None,
            max_tokens=500,
            actor="user:u-1",
        ),
        BudgetCapSet(org_id="org-1", period="day", max_usd=None, max_tokens=None, actor="op"),
        BudgetCapSet(org_id="org-1", period="month", max_usd=None, max_tokens=9, actor="op"),
        BudgetAboveCapRefused(
            scope="team",
            scope_id="team-1",
            org_id="org-1",
            period="day",
            max_usd=Decimal("10.50"),
            max_tokens=1000,
            actor="user:u-1",
        ),
        RateLimitSet(scope="team", scope_id="team-1", rpm=None, tpm=None, actor="admin"),
        PriceSet(
            provider="openai",
            model="gpt-4o",
            input_per_mtok=Decimal("2.50"),
            output_per_mtok=Decimal(10),
            cached_input_per_mtok=None,
            actor="admin",
        ),
        BudgetThresholdCrossed(
            scope="key",
            scope_id="key-1",
            period="day",
            window="key:key-1:day:2026-11-02",
            measure="tokens",
            percent=100,
            spent="1000",
            limit="1000",
            actor="user:u-1",
        ),
        request_refused(kind="rate_limit", limit="key:key-1", measure="requests", last_at=later),
        request_refused(kind="unpriced", limit="openai/gpt-5", measure="", user_id="user-1"),
        KeyIssued(
            key_id="key-2",
            team_id="team-1",
            org_id="org-1",
            user_id=None,
            name="",
            prefix="fr-ijklmnop",
            models=None,
            actor="user:u-1",
            expires_at=later,
        ),
        UserCreated(
            user_id="user-2",
            org_id="org-1",
            email=None,
            display_name=None,
            role="member",
            active=False,
            external_id=None,
            actor="scim:tok-1",
            user_name="bob@example.com",
        ),
        UserChanged(
            user_id="user-1",
            org_id="org-1",
            role="admin",
            active=True,
            display_name=None,
            changed=("active",),
            actor="admin",
        ),
        access_refused(surface="admin", prefix="", reason="missing", source_ip="::1"),
        SignInFailed(
            connection_id="",
            reason="unknown_connection",
            source_ip="10.0.0.1",
            count=1,
            first_at=WHEN,
            last_at=later,
        ),
        OrgChanged(
            org_id="org-1", name="Acme", metadata={"a": 1}, changed=("metadata",), actor="admin"
        ),
        OrgChanged(org_id="org-1", name="Acme", metadata={}, changed=(), actor="admin"),
        TeamChanged(team_id="team-1", org_id="org-1", metadata={}, actor="admin"),
        KeyChanged(
            key_id="key-1",
            team_id="team-1",
            org_id="org-1",
            name="ci",
            metadata={"ticket": "OPS-2"},
            changed=("metadata", "name"),
            actor="admin",
        ),
        UserIdentityChanged(
            user_id="user-1",
            org_id="org-1",
            user_name=None,
            email="new@example.com",
            external_id=None,
            changed=("external_id", "email"),
            actor="scim:tok-1",
        ),
        GroupCreated(
            group_id="g-2",
            org_id="org-1",
            display_name="Admins",
            external_id="okta-g2",
            team_id=None,
            role="admin",
            actor="scim:tok-1",
        ),
        GroupChanged(
            group_id="g-1",
            org_id="org-1",
            display_name="Eng",
            external_id=None,
            changed=("external_id", "display_name"),
            actor="scim:tok-1",
        ),
        GroupMembersChanged(
            group_id="g-2",
            org_id="org-1",
            team_id=None,
            added=(),
            removed=("user-1", "user-2"),
            actor="scim:tok-1",
        ),
        ScimTokenIssued(
            token_id="tok-2", org_id="org-1", prefix="frs-ijklmnop", actor="user:u-1", role="member"
        ),
        SsoConnectionCreated(
            connection_id="sso-2", org_id="org-1", kind="saml", settings={}, actor="admin"
        ),
        SsoConnectionChanged(
            connection_id="sso-2", org_id="org-1", changed=(), settings={}, actor="admin"
        ),
        SignedIn(
            user_id="u-2",
            org_id="org-1",
            connection_id="sso-2",
            kind="oidc",
            subject="sub-2",
            provisioned=False,
            source_ip="::1",
        ),
        SsoIdentityLinked(
            user_id="u-2", org_id="org-1", connection_id="sso-2", subject="sub-2", basis="domain"
        ),
        EventDeadLettered(
            dead_letter_id="dl-2",
            dead_event_id="ev-2",
            dead_event_type="UsageRecorded",
            subscriber=None,
            error_class=None,
            attempts=1,
        ),
        ConfigChanged(digest="cd" * 32, added=[], removed=["openai"], changed=[], actor="admin"),
        ConversationStarted(
            conversation_id="conv-2",
            org_id="org-1",
            team_id="team-1",
            user_id=None,
            key_id="key-1",
            actor="user:u-1",
        ),
        PromptPublished(
            prompt_id="prompt-2",
            org_id="org-1",
            team_id="team-1",
            name="summarise",
            version=1,
            variables=[],
            actor="admin",
        ),
    ]
