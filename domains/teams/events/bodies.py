"""Whether a team's or a key's calls keep their bodies (prompt and answer, scrubbed) in the
request log."""

from __future__ import annotations

from typing import Literal

from domains.shared.events import Event


class BodiesLoggingSet(Event, frozen=True, kw_only=True, tag=True):
    """A team or a key opted in (`enabled`) or out of keeping its calls' bodies."""

    scope: Literal["team", "key"]
    target_id: str
    team_id: str
    org_id: str
    enabled: bool
    actor: str


EVENTS: tuple[type[Event], ...] = (BodiesLoggingSet,)
