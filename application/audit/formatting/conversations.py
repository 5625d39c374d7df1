"""How the conversations context's events read as audit rows: who started or deleted a
conversation, published or deleted a prompt, deleted a stored response; never what was said."""

from __future__ import annotations

from application.audit.formatting.entries import Entry, formats
from domains.audit.facts import AuditFacts
from domains.conversations.events import (
    ConversationDeleted,
    ConversationExtended,
    ConversationStarted,
    PromptDeleted,
    PromptPublished,
    ResponseDeleted,
)
from domains.shared.events import Event


def conversation_started(event: ConversationStarted) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="conversation.create",
        target=f"conversation:{event.conversation_id}",
        data={
            "org_id": event.org_id,
            "team_id": event.team_id,
            "user_id": event.user_id,
            "key_id": event.key_id,
        },
    )


def conversation_deleted(event: ConversationDeleted) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="conversation.delete",
        target=f"conversation:{event.conversation_id}",
        data={
            "org_id": event.org_id,
            "team_id": event.team_id,
            "user_id": event.user_id,
            "messages": event.messages,
        },
    )


def prompt_published(event: PromptPublished) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="prompt.publish",
        target=f"prompt:{event.prompt_id}",
        data={
            "org_id": event.org_id,
            "team_id": event.team_id,
            "name": event.name,
            "version": event.version,
            "variables": event.variables,
        },
    )


def prompt_deleted(event: PromptDeleted) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="prompt.delete",
        target=f"prompt:{event.prompt_id}",
        data={
            "org_id": event.org_id,
            "team_id": event.team_id,
            "name": event.name,
            "versions": event.versions,
        },
    )


def response_deleted(event: ResponseDeleted) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="response.delete",
        target=f"response:{event.response_id}",
        data={"org_id": event.org_id, "team_id": event.team_id, "key_id": event.key_id},
    )


ENTRIES: tuple[Entry, ...] = (
    formats(ConversationStarted, conversation_started),
    formats(ConversationDeleted, conversation_deleted),
    formats(PromptPublished, prompt_published),
    formats(PromptDeleted, prompt_deleted),
    formats(ResponseDeleted, response_deleted),
)

# a stored turn: the call itself is audited once charged, under its request_id
NOT_AUDITED: tuple[type[Event], ...] = (ConversationExtended,)
