"""A conversation counts its messages turn by turn and belongs to one team and person."""

from __future__ import annotations

from application.audit.formatting import audit_facts
from domains.conversations.events import (
    ConversationDeleted,
    ConversationExtended,
    ConversationStarted,
)
from domains.conversations.model import Conversation


def test_turns_number_their_messages_in_order() -> None:
    conversation = Conversation.start(
        "c1", org_id="o", team_id="t", user_id="u", key_id="k", title=None
    )
    assert conversation.extend(2, request_id="r1", finish_reason="stop") == 0
    assert conversation.extend(3, request_id="r2", finish_reason="cancelled") == 2
    assert conversation.message_count == 5
    conversation.delete(actor="user:u")
    events = conversation.pull_events()
    assert [type(e) for e in events] == [
        ConversationStarted,
        ConversationExtended,
        ConversationExtended,
        ConversationDeleted,
    ]
    assert audit_facts(events[0]) is not None
    assert audit_facts(events[1]) is None  # the call itself is audited once charged
    assert audit_facts(events[3]).data["messages"] == 5  # type: ignore[union-attr]


def test_only_its_team_and_person_own_it() -> None:
    personal = Conversation(id="c", org_id="o", team_id="t", user_id="u", key_id="k")
    shared = Conversation(id="c", org_id="o", team_id="t", user_id=None, key_id="k")
    assert personal.owned_by("t", "u")
    assert not personal.owned_by("t", None)
    assert not personal.owned_by("t2", "u")
    assert shared.owned_by("t", None)
    assert not shared.owned_by("t", "u")
