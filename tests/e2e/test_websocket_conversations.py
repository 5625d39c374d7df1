"""Conversations kept by the WebSocket chat: started and continued over the socket, stored per
team and person, read and deleted through the admin API by whom it may concern."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.gateway import GatewayProcess
from tests.support.tenants import eventually
from tests.support.ws import chat_socket, chat_start

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.both_shapes]


@dataclass(frozen=True)
class Person:
    user_id: str
    token: str  # admin token
    key: str  # a virtual key issued for them


@dataclass(frozen=True)
class Org:
    org_id: str
    team_id: str
    owner: Person
    alice: Person  # a member
    bob: Person  # another member


def _person(admin: httpx.Client, org_id: str, team_id: str, role: str) -> Person:
    email = f"{role}-{secrets.token_hex(4)}@example.com"
    user = admin.post("/users", json={"org_id": org_id, "email": email, "role": role})
    assert user.status_code == 201, user.text
    user_id = user.json()["id"]
    token = admin.post(f"/users/{user_id}/tokens", json={})
    assert token.status_code == 201, token.text
    key = admin.post("/keys", json={"team_id": team_id, "name": email, "user_id": user_id})
    assert key.status_code == 201, key.text
    return Person(user_id, token.json()["token"], key.json()["key"])


def _org(admin: httpx.Client, name: str) -> Org:
    org = admin.post("/orgs", json={"name": f"{name}-{secrets.token_hex(3)}"}).json()["id"]
    team = admin.post("/teams", json={"org_id": org, "name": "chat"}).json()["id"]
    return Org(
        org,
        team,
        _person(admin, org, team, "owner"),
        _person(admin, org, team, "member"),
        _person(admin, org, team, "member"),
    )


@pytest.fixture(scope="module")
def org(admin: httpx.Client) -> Org:
    return _org(admin, "conversations")


def _as(gateway: GatewayProcess, person: Person) -> httpx.Client:
    return httpx.Client(
        base_url=f"{gateway.base_url}/admin/v1",
        timeout=10,
        headers={"Authorization": f"Bearer {person.token}"},
    )


def _sent_upstream(upstream: FakeOpenAI, marker: str) -> list[dict[str, Any]]:
    """The messages of the upstream request whose last message holds `marker`."""
    for request in reversed(upstream.requests):
        body = request.json
        if isinstance(body, dict) and marker in json.dumps(body.get("messages", [])[-1:]):
            messages: list[dict[str, Any]] = body["messages"]
            return messages
    raise AssertionError(f"no upstream request with {marker}")


async def test_a_conversation_is_started_continued_and_read_by_its_owner(
    gateway: GatewayProcess, upstream: FakeOpenAI, admin: httpx.Client, org: Org
) -> None:
    first, second = secrets.token_hex(4), secrets.token_hex(4)
    async with chat_socket(gateway.base_url, org.alice.key) as socket:
        await socket.send(chat_start("t1", f"first {first}", conversation={"title": "Trip"}))
        done = await socket.until_end_of("t1")
        conversation_id = done["conversation_id"]
        await socket.send(chat_start("t2", f"second {second}", conversation_id=conversation_id))
        again = await socket.until_end_of("t2")
    assert again["type"] == "chat.done"
    assert again["conversation_id"] == conversation_id
    assert _sent_upstream(upstream, second) == [
        {"role": "user", "content": f"first {first}"},
        {"role": "assistant", "content": f"Echo: first {first}"},
        {"role": "user", "content": f"second {second}"},
    ]

    with _as(gateway, org.alice) as alice:
        listed = alice.get("/conversations").json()["rows"]
        transcript = alice.get(f"/conversations/{conversation_id}")
    assert [row["id"] for row in listed] == [conversation_id]
    assert listed[0]["title"] == "Trip"
    assert listed[0]["user_id"] == org.alice.user_id
    assert listed[0]["message_count"] == 4
    assert transcript.status_code == 200, transcript.text
    messages = transcript.json()["messages"]
    assert [m["seq"] for m in messages] == [0, 1, 2, 3]
    assert [m["message"]["role"] for m in messages] == ["user", "assistant"] * 2
    assert messages[3]["message"]["content"] == f"Echo: second {second}"
    assert [m["finish_reason"] for m in messages] == [None, "stop", None, "stop"]
    assert messages[1]["request_id"] == done["request_id"]

    def creation() -> list[dict[str, Any]]:
        rows = admin.get("/audit", params={"action": "conversation.create", "limit": 1000})
        return [r for r in rows.json()["rows"] if r["target"] == f"conversation:{conversation_id}"]

    rows = eventually(creation)
    assert rows[0]["data"]["user_id"] == org.alice.user_id
    assert "Trip" not in json.dumps(rows)


async def test_only_the_owner_continues_or_reads_a_conversation(
    gateway: GatewayProcess, admin: httpx.Client, org: Org
) -> None:
    async with chat_socket(gateway.base_url, org.alice.key) as socket:
        await socket.send(chat_start("mine", "private", conversation={}))
        conversation_id = (await socket.until_end_of("mine"))["conversation_id"]
    async with chat_socket(gateway.base_url, org.bob.key) as socket:
        await socket.send(chat_start("theirs", "let me in", conversation_id=conversation_id))
        refused = await socket.until_end_of("theirs")
    assert refused["status"] == 404
    assert refused["error"]["code"] == "conversation_not_found"

    with _as(gateway, org.bob) as bob, _as(gateway, org.owner) as owner:
        assert bob.get(f"/conversations/{conversation_id}").status_code == 403
        assert conversation_id not in [r["id"] for r in bob.get("/conversations").json()["rows"]]
        mine_only = bob.get("/conversations", params={"user_id": org.alice.user_id})
        assert mine_only.status_code == 403
        assert owner.get(f"/conversations/{conversation_id}").status_code == 403
        listed = owner.get("/conversations", params={"user_id": org.alice.user_id}).json()
        assert conversation_id in [r["id"] for r in listed["rows"]]

    stranger = _org(admin, "strangers")
    with _as(gateway, stranger.owner) as other:
        assert other.get(f"/conversations/{conversation_id}").status_code == 404
        assert other.delete(f"/conversations/{conversation_id}").status_code == 404
        assert other.get("/conversations", params={"team_id": org.team_id}).status_code == 404
    assert admin.get(f"/conversations/{conversation_id}").status_code == 200


async def test_a_cancelled_turn_keeps_what_was_produced(gateway: GatewayProcess, org: Org) -> None:
    async with chat_socket(gateway.base_url, org.alice.key) as socket:
        await socket.send(
            chat_start("long", "go on", model="fake-slow-stream", max_tokens=80, conversation={})
        )
        while len(socket.of("long", "chat.delta")) < 4:
            await socket.recv()
        await socket.send({"type": "chat.cancel", "id": "long"})
        cancelled = await socket.until_end_of("long")
    assert cancelled["type"] == "chat.cancelled"
    with _as(gateway, org.alice) as alice:
        transcript = alice.get(f"/conversations/{cancelled['conversation_id']}").json()
    reply = transcript["messages"][-1]
    assert reply["finish_reason"] == "cancelled"
    assert reply["message"]["content"] == socket.text_of("long")
    assert reply["message"]["content"].startswith("tok1 tok2 tok3")


async def test_deletion_on_request_removes_every_message(
    gateway: GatewayProcess, admin: httpx.Client, org: Org
) -> None:
    async with chat_socket(gateway.base_url, org.alice.key) as socket:
        await socket.send(chat_start("doomed", "forget me", conversation={}))
        conversation_id = (await socket.until_end_of("doomed"))["conversation_id"]
        with _as(gateway, org.bob) as bob:
            assert bob.delete(f"/conversations/{conversation_id}").status_code == 403
        with _as(gateway, org.owner) as owner:  # the org's owner, on the person's request
            deleted = owner.delete(f"/conversations/{conversation_id}")
            assert deleted.status_code == 200, deleted.text
            assert deleted.json() == {"id": conversation_id, "deleted": True}
            assert owner.delete(f"/conversations/{conversation_id}").status_code == 404
        await socket.send(chat_start("after", "again", conversation_id=conversation_id))
        assert (await socket.until_end_of("after"))["error"]["code"] == "conversation_not_found"
    assert admin.get(f"/conversations/{conversation_id}").status_code == 404

    def deletion() -> list[dict[str, Any]]:
        rows = admin.get("/audit", params={"action": "conversation.delete", "limit": 1000})
        return [r for r in rows.json()["rows"] if r["target"] == f"conversation:{conversation_id}"]

    row = eventually(deletion)[0]
    assert row["actor"] == f"user:{org.owner.user_id}"
    assert row["data"]["messages"] == 2


async def test_lists_page_newest_first(gateway: GatewayProcess, org: Org) -> None:
    async with chat_socket(gateway.base_url, org.bob.key) as socket:
        ids = []
        for i in range(3):
            await socket.send(chat_start(f"p{i}", "page", conversation={}))
            ids.append((await socket.until_end_of(f"p{i}"))["conversation_id"])
    with _as(gateway, org.bob) as bob:
        first = bob.get("/conversations", params={"limit": 2}).json()
        rest = bob.get(
            "/conversations", params={"limit": 2, "before_id": first["next_before_id"]}
        ).json()
    assert [r["id"] for r in first["rows"]] == ids[::-1][:2]
    assert [r["id"] for r in rest["rows"]][:1] == ids[:1]
