"""What the conversations context tells the others: conversations started, extended and deleted,
prompts published and deleted. Never a message's text: the audit log keeps who and what, not
what was said."""

from __future__ import annotations

from domains.shared.events import AuditFacts, Event


class ConversationStarted(Event, frozen=True, kw_only=True, tag=True):
    conversation_id: str
    org_id: str
    team_id: str
    user_id: str | None
    key_id: str
    actor: str

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=self.actor,
            action="conversation.create",
            target=f"conversation:{self.conversation_id}",
            data={
                "org_id": self.org_id,
                "team_id": self.team_id,
                "user_id": self.user_id,
                "key_id": self.key_id,
            },
        )


class ConversationExtended(Event, frozen=True, kw_only=True, tag=True):
    """A turn was stored: the messages sent and the reply (partial when cancelled). The call
    itself is audited once charged, under its `request_id`."""

    conversation_id: str
    request_id: str
    first_seq: int
    messages: int
    finish_reason: str | None


class ConversationDeleted(Event, frozen=True, kw_only=True, tag=True):
    conversation_id: str
    org_id: str
    team_id: str
    user_id: str | None
    messages: int
    actor: str

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=self.actor,
            action="conversation.delete",
            target=f"conversation:{self.conversation_id}",
            data={
                "org_id": self.org_id,
                "team_id": self.team_id,
                "user_id": self.user_id,
                "messages": self.messages,
            },
        )


class PromptPublished(Event, frozen=True, kw_only=True, tag=True):
    """A version of a team's prompt was published (version 1 creates the prompt)."""

    prompt_id: str
    org_id: str
    team_id: str
    name: str
    version: int
    variables: list[str]
    actor: str

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=self.actor,
            action="prompt.publish",
            target=f"prompt:{self.prompt_id}",
            data={
                "org_id": self.org_id,
                "team_id": self.team_id,
                "name": self.name,
                "version": self.version,
                "variables": self.variables,
            },
        )


class PromptDeleted(Event, frozen=True, kw_only=True, tag=True):
    prompt_id: str
    org_id: str
    team_id: str
    name: str
    versions: int
    actor: str

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=self.actor,
            action="prompt.delete",
            target=f"prompt:{self.prompt_id}",
            data={
                "org_id": self.org_id,
                "team_id": self.team_id,
                "name": self.name,
                "versions": self.versions,
            },
        )
