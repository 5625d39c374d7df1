"""One more instance of an event for each branch of how it reads as an audit row: a removal, a
kind of refusal, an optional field left out or filled in, each subset of what changed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from domains.billing.events import (
    BudgetAboveCapRefused,
    BudgetCapSet,
    BudgetForecastExceeded,
    BudgetSet,
    BudgetThresholdCrossed,
    PriceSet,
    PriceTierRates,
    RateLimitSet,
)
from domains.conversations.events import (
    ConversationStarted,
    PromptPublished,
)
from domains.providers.events import ConfigChanged
from domains.shared.delivery import EventDeadLettered
from domains.shared.events import Event
from domains.teams.events import (
    GroupChanged,
    GroupCreated,
    GroupMembersChanged,
    KeyChanged,
    KeyIssued,
    OrgChanged,
    ScimTokenIssued,
    SignedIn,
    SignInFailed,
    SsoConnectionChanged,
    SsoConnectionCreated,
    SsoIdentityLinked,
    TeamChanged,
    UserChanged,
    UserCreated,
    UserIdentityChanged,
)
from tests.support.events import (
    WHEN,
    access_refused,
    request_refused,
    usage,
)


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
        BudgetForecastExceeded(
            scope="key",
            scope_id="key-1",
            org_id="org-1",
            period="total",
            window="key:key-1:total",
            projected="100.000001",
            limit="100",
            runs_out_on="2027-03-01",
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
        # every kind of token: the cache writes and reasoning tokens a call used
        usage(
            input_tokens=1234,
            cached_tokens=600,
            cache_write_5m_tokens=100,
            cache_write_1h_tokens=200,
            output_tokens=567,
            reasoning_tokens=300,
        ),
        PriceSet(
            provider="anthropic",
            model="claude-sonnet-4-5",
            input_per_mtok=Decimal(3),
            output_per_mtok=Decimal(15),
            cached_input_per_mtok=Decimal("0.30"),
            cache_write_5m_per_mtok=Decimal("3.75"),
            cache_write_1h_per_mtok=Decimal(6),
            reasoning_output_per_mtok=Decimal(15),
            tiers=(
                PriceTierRates(
                    above_input_tokens=200_000,
                    input_per_mtok=Decimal(6),
                    output_per_mtok=Decimal("22.50"),
                    cache_write_1h_per_mtok=Decimal(12),
                ),
            ),
            actor="admin",
        ),
        # a failed attempt of a request the router failed over: which attempt it was
        usage(
            status=502,
            outcome="error",
            input_tokens=0,
            output_tokens=0,
            cost_usd=Decimal(0),
            route="weighted azure-eu/gpt-4o; after openai-us/gpt-4o 502",
        ),
    ]
