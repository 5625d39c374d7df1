"""Events to and from bytes: msgspec JSON, tagged with the class name."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Union

import msgspec

from domains.shared.events import Event


class EventCodec:
    def __init__(self, event_types: Iterable[type[Event]]) -> None:
        types = tuple(event_types)
        self.types = {t.__name__: t for t in types}
        self._encoder = msgspec.json.Encoder(decimal_format="string")
        self._decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(Union[types])  # noqa: UP007

    def encode(self, event: Event) -> bytes:
        return self._encoder.encode(event)

    def decode(self, payload: bytes | str) -> Event:
        event: Event = self._decoder.decode(payload)
        return event


def all_event_types() -> list[type[Event]]:
    """Every concrete event of every context (the outbox may hold any of them)."""
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

    return [
        OrgCreated,
        TeamCreated,
        KeyIssued,
        KeyRevoked,
        KeyRotated,
        UserCreated,
        UserChanged,
        AdminTokenIssued,
        AdminTokenRevoked,
        CompletionFinished,
        ConfigChanged,
        UsageRecorded,
        BudgetSet,
        BudgetCapSet,
        BudgetAboveCapRefused,
        RateLimitSet,
        PriceSet,
        BudgetThresholdCrossed,
        RequestRefused,
        AccessRefused,
        ConversationStarted,
        ConversationExtended,
        ConversationDeleted,
        PromptPublished,
        PromptDeleted,
        TeamRenamed,
        UserIdentityChanged,
        UserDeleted,
        GroupCreated,
        GroupChanged,
        GroupMembersChanged,
        GroupDeleted,
        ScimTokenIssued,
        ScimTokenRevoked,
        SsoConnectionCreated,
        SsoConnectionChanged,
        SsoConnectionDeleted,
        SignedIn,
        SignInFailed,
        SignedOut,
        EventDeadLettered,
        DeadLetterReplayed,
        OrgChanged,
        OrgDeleted,
        TeamChanged,
        TeamDeleted,
        KeyChanged,
        OrgSignInDomainsSet,
        SsoIdentityLinked,
        SsoRoleCapped,
    ]
