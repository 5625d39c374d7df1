"""A stored response: what `POST /v1/responses` answered (the whole `Response` object) and the
input items it answered, kept for its org so that `GET /v1/responses/{id}` can show it again,
`GET .../input_items` list what it was asked, and a next request continue from it
(`previous_response_id`).

Any key of the org that made it may read, continue or delete it; to every other org it does not
exist. It is kept until `expires_at` (the operator's retention), then forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from domains.conversations.events import ResponseDeleted
from domains.shared.aggregate import Aggregate
from domains.shared.clock import utcnow


@dataclass(eq=False)
class ResponseFacts:
    """What a stored response is found by: its own id, model and status, whose it is, and the
    response it continues."""

    id: str
    org_id: str
    team_id: str
    key_id: str
    user_id: str | None
    model: str
    status: str
    previous_response_id: str | None


@dataclass(eq=False)
class StoredResponse(ResponseFacts, Aggregate):
    response: dict[str, Any]
    """The `Response` object as the caller was answered it."""
    input_items: list[dict[str, Any]]
    """The request's own input, as Responses items each with an `id`, oldest first (not the
    history a `previous_response_id` brought in: that is its predecessors')."""
    expires_at: datetime
    created_at: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        Aggregate.__init__(self)

    def visible_to(self, org_id: str, now: datetime) -> bool:
        """Whether a key of `org_id` may see it at `now` (another org's, or an expired one, is
        not found)."""
        return self.org_id == org_id and now < self.expires_at

    @property
    def output(self) -> list[dict[str, Any]]:
        """The output items of the response (what a continuation takes as the model's turn)."""
        output = self.response.get("output")
        return (
            [item for item in output if isinstance(item, dict)] if isinstance(output, list) else []
        )

    def delete(self, *, actor: str) -> None:
        self.record(
            ResponseDeleted(
                response_id=self.id,
                org_id=self.org_id,
                team_id=self.team_id,
                key_id=self.key_id,
                actor=actor,
            )
        )


@dataclass(eq=False)
class ResponseRecord(ResponseFacts):
    """A response on its way to be stored: its `Response` object and its input items as the JSON
    the serving process encoded once (never parsed again on the way), with what it is found by.
    Read back, it is a `StoredResponse`."""

    response: bytes
    """The `Response` object's JSON, as the caller was answered it."""
    input_items: bytes
    """The request's own input items' JSON (a list)."""
    expires_at: datetime
    created_at: datetime

    @classmethod
    def keep(
        cls,
        response: bytes,
        input_items: bytes,
        *,
        response_id: str,
        model: str,
        status: str,
        org_id: str,
        team_id: str,
        key_id: str,
        user_id: str | None,
        previous_response_id: str | None,
        retention: timedelta,
    ) -> ResponseRecord:
        """The response to store, kept for `retention` from now."""
        now = utcnow()
        return cls(
            id=response_id,
            org_id=org_id,
            team_id=team_id,
            key_id=key_id,
            user_id=user_id,
            model=model,
            status=status or "completed",
            previous_response_id=previous_response_id,
            response=response,
            input_items=input_items,
            expires_at=now + retention,
            created_at=now,
        )
