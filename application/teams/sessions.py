"""Where a person's dashboard session will stand in for a virtual key.

A browser that is signed in to the dashboard (SSO) may open the WebSocket chat with its session
cookie instead of a key. The session store that SSO brings implements this port and is wired in
at the composition root; until then none is, and the cookie is not looked at.
"""

from __future__ import annotations

from typing import Protocol

from domains.shared.caller import Caller


class SessionAuthenticator(Protocol):
    @property
    def cookie_name(self) -> str:
        """The cookie that carries the session."""
        ...

    async def caller_for_session(self, session: str) -> Caller | None:
        """Who the session's person calls models as (the key or team their chats are billed
        to), or None for a session that is unknown, expired or signed out."""
        ...
