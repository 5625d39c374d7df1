"""The dashboard session as a caller of `/v1/ws`: the session looked up in the shared store on
every call (so a sign-out or a deactivation anywhere ends it at once), then the person's key."""

from __future__ import annotations

import time

from application.teams.sessions import PersonKeys, choose_key
from domains.shared.caller import Caller
from infrastructure.sso.sessions import SESSION_COOKIE, DashboardSessions


class SessionCallers:
    cookie_name = SESSION_COOKIE

    def __init__(self, sessions: DashboardSessions, keys: PersonKeys) -> None:
        self._sessions = sessions
        self._keys = keys

    async def caller_for_session(self, session: str, key_id: str | None) -> Caller | None:
        stored = await self._sessions.find(session)
        if stored is None:
            return None
        callers = await self._keys.active_of_user(stored.user_id)
        return choose_key(callers, key_id, org_id=stored.org_id, now=time.time())
