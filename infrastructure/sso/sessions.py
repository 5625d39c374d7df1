"""Dashboard sessions as a browser holds them: a session cookie and a CSRF token.

The session cookie's value is "frd-" and 43 random URL-safe characters; the store keeps only
its SHA-256, and the CSRF token's. The CSRF token (double submit) is given to the browser in a
cookie JavaScript can read and in `GET /admin/v1/me`; a cookie-authenticated admin call that
changes something must send it back in the `X-CSRF-Token` header.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from application.teams.dashboard_sessions import SessionStore, StoredSession

SESSION_SCHEME = "frd-"
SESSION_COOKIE = "fluxrouter_session"
CSRF_COOKIE = "fluxrouter_csrf"
CSRF_HEADER = "x-csrf-token"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def looks_like_session(value: str) -> bool:
    return value.startswith(SESSION_SCHEME) and 40 <= len(value) <= 100


class DashboardSessions:
    def __init__(self, store: SessionStore, *, idle: float, absolute: float) -> None:
        self.store = store
        self.idle = idle
        self.absolute = absolute

    async def start(self, *, user_id: str, org_id: str, connection_id: str) -> tuple[str, str]:
        """A new session: (the cookie's value, the CSRF token), both shown only now."""
        secret = SESSION_SCHEME + secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = time.time()
        await self.store.create(
            StoredSession(
                id_hash=digest(secret),
                user_id=user_id,
                org_id=org_id,
                connection_id=connection_id,
                csrf_hash=digest(csrf),
                created_at=now,
                last_seen=now,
                expires_at=now + self.absolute,
            ),
            idle=self.idle,
        )
        return secret, csrf

    async def find(self, secret: str) -> StoredSession | None:
        if not looks_like_session(secret):
            return None
        return await self.store.get(digest(secret), idle=self.idle, now=time.time())

    async def end(self, secret: str) -> StoredSession | None:
        if not looks_like_session(secret):
            return None
        return await self.store.delete(digest(secret))

    @staticmethod
    def csrf_matches(session: StoredSession, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(digest(token), session.csrf_hash)
