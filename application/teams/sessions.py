"""A person's dashboard session standing in for a virtual key on the WebSocket chat.

A browser signed in to the dashboard (SSO) may open `/v1/ws` with its session cookie instead of
a key. Its chats are billed to one of the person's own keys (a key issued with their `user_id`),
so the key's, the person's, the team's and the org's budgets and rate limits apply exactly as if
the browser held the key: the one the client names, or the only one the person has.
"""

from __future__ import annotations

from typing import Protocol

from domains.shared.caller import Caller
from domains.shared.errors import Forbidden, InvalidValue, NotFound


class NoKeyOfTheirs(Forbidden):
    code = "no_personal_key"


class KeyChoiceNeeded(InvalidValue):
    code = "key_id_required"


class UnknownKeyOfTheirs(NotFound):
    code = "unknown_key"


class PersonKeys(Protocol):
    async def active_of_user(self, user_id: str) -> list[Caller]: ...


class SessionAuthenticator(Protocol):
    @property
    def cookie_name(self) -> str:
        """The cookie that carries the session."""
        ...

    async def caller_for_session(self, session: str, key_id: str | None) -> Caller | None:
        """Who the session's person calls models as: their key `key_id`, or their only key.
        None for a session that is unknown, expired or signed out; NoKeyOfTheirs,
        KeyChoiceNeeded or UnknownKeyOfTheirs when the person has no such key."""
        ...


def choose_key(callers: list[Caller], key_id: str | None, *, org_id: str, now: float) -> Caller:
    """The key a person's session chats with, among the person's active keys."""
    usable = [c for c in callers if c.org_id == org_id and not c.expired(now)]
    if key_id is not None:
        for caller in usable:
            if caller.key_id == key_id:
                return caller
        raise UnknownKeyOfTheirs(f"You have no active key with the id `{key_id}`.")
    if len(usable) == 1:
        return usable[0]
    if not usable:
        raise NoKeyOfTheirs(
            "You have no active key to chat with: ask an admin of your team to issue you one."
        )
    raise KeyChoiceNeeded(
        f"You have {len(usable)} active keys: name the one to chat with in the `key_id` query "
        "parameter."
    )
