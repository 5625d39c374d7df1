"""Fifty people provisioned, deactivated, reactivated and deleted through the admin API and SCIM
while chat completions stream through the same gateway: every admin call timed."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx
import openai

from tests.support.gateway import GatewayProcess
from tests.support.scim import SCIM_JSON, scim_client, scim_org

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"


@dataclass
class Churn:
    timings: dict[str, list[float]] = field(default_factory=dict)
    """Seconds each admin call took, by what it did."""
    failures: list[str] = field(default_factory=list)
    chats: int = 0
    chat_failures: list[str] = field(default_factory=list)

    @property
    def slowest(self) -> float:
        return max((s for seconds in self.timings.values() for s in seconds), default=0.0)


class ChatTraffic(threading.Thread):
    """Streams chat completions one after another until stopped."""

    def __init__(self, process: GatewayProcess, key: str, churn: Churn) -> None:
        super().__init__(name="chat-traffic", daemon=True)
        self._client = openai.OpenAI(
            base_url=f"{process.base_url}/v1", api_key=key, max_retries=0, timeout=30
        )
        self._churn = churn
        self.stop = threading.Event()

    def run(self) -> None:
        messages: Any = [{"role": "user", "content": "one two three"}]
        while not self.stop.is_set():
            try:
                text = "".join(
                    chunk.choices[0].delta.content or ""
                    for chunk in self._client.chat.completions.create(
                        model="gpt-4o-mini", messages=messages, stream=True
                    )
                    if chunk.choices
                )
                if text != "Echo: one two three":
                    self._churn.chat_failures.append(f"unexpected answer {text!r}")
                self._churn.chats += 1
            except openai.OpenAIError as error:
                self._churn.chat_failures.append(repr(error))


def _timed(
    churn: Churn, kind: str, expected: int, call: Callable[[], httpx.Response]
) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        answer = call()
    except httpx.HTTPError as error:
        churn.timings.setdefault(kind, []).append(time.perf_counter() - started)
        churn.failures.append(f"{kind}: {error!r}")
        return None
    churn.timings.setdefault(kind, []).append(time.perf_counter() - started)
    if answer.status_code != expected:
        churn.failures.append(f"{kind}: {answer.status_code} {answer.text[:200]}")
        return None
    return answer


def _chat_key(admin: httpx.Client, org_id: str) -> str:
    team = admin.post("/teams", json={"org_id": org_id, "name": f"chat-{secrets.token_hex(3)}"})
    key = admin.post("/keys", json={"team_id": team.json()["id"], "name": "traffic"})
    return str(key.json()["key"])


def churn_people(process: GatewayProcess, *, people: int = 50, timeout: float = 30.0) -> Churn:
    """Provisions `people` (SCIM), deactivates and reactivates them (every other one through
    the admin API, the rest through SCIM), then deletes them (SCIM), with chat streaming all
    along."""
    churn = Churn()
    org = scim_org(process, "churn")
    with process.admin() as admin, scim_client(process, org.token) as scim:
        admin.timeout = scim.timeout = httpx.Timeout(timeout)
        traffic = ChatTraffic(process, _chat_key(admin, org.org_id), churn)
        traffic.start()
        try:
            ids: list[str] = []
            for n in range(people):
                body = {"schemas": [USER_SCHEMA], "userName": f"p{n}-{secrets.token_hex(3)}@x.io"}
                create = partial(
                    scim.post, "/Users", json=body, headers={"Content-Type": SCIM_JSON}
                )
                made = _timed(churn, "create", 201, create)
                if made is not None:
                    ids.append(str(made.json()["id"]))
            for kind, active in (("deactivate", False), ("reactivate", True)):
                for n, user_id in enumerate(ids):
                    if n % 2 == 0:
                        change_user = partial(
                            admin.patch, f"/users/{user_id}", json={"active": active}
                        )
                        _timed(churn, kind, 200, change_user)
                        continue
                    change = {
                        "schemas": [PATCH_OP],
                        "Operations": [{"op": "replace", "value": {"active": active}}],
                    }
                    _timed(churn, kind, 200, partial(scim.patch, f"/Users/{user_id}", json=change))
            for user_id in ids:
                _timed(churn, "delete", 204, partial(scim.delete, f"/Users/{user_id}"))
        finally:
            traffic.stop.set()
            traffic.join(timeout=60)
    return churn
