"""What the providers context tells the others: a model call finished (and what it used)."""

from __future__ import annotations

from typing import Literal

from domains.shared.events import AuditFacts, Event


class CompletionFinished(Event, frozen=True, kw_only=True, tag=True):
    """A chat completion or embeddings call ended: answered, failed or cut by the client.

    Token counts are the upstream's own report; `usage_reported` is False when the stream was cut
    before the upstream reported usage and the counts are the gateway's estimate.
    """

    request_id: str
    endpoint: Literal["chat", "embeddings"]
    key_id: str
    team_id: str
    org_id: str
    user_id: str | None
    provider: str
    model: str
    upstream_model: str
    stream: bool
    status: int
    outcome: Literal["ok", "error", "cancelled"]
    input_tokens: int
    output_tokens: int
    cached_tokens: int = 0
    usage_reported: bool = True
    latency_ms: float = 0.0

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=f"key:{self.key_id}",
            action=f"{self.endpoint}.completion"
            if self.endpoint == "chat"
            else "embeddings.create",
            target=f"model:{self.provider}/{self.model}",
            data={
                "request_id": self.request_id,
                "team_id": self.team_id,
                "org_id": self.org_id,
                "user_id": self.user_id,
                "status": self.status,
                "outcome": self.outcome,
                "stream": self.stream,
                "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens,
                "cached_tokens": self.cached_tokens,
                "usage_reported": self.usage_reported,
            },
        )
