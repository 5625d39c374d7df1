"""The teams' prompt library: prompts with versions and `{{variables}}`, kept through the admin
API, named by a `chat.start` over the WebSocket and rendered into the messages the model gets."""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx
import pytest

from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.gateway import GatewayProcess
from tests.support.tenants import Tenant, create_tenant, eventually
from tests.support.ws import chat_socket, chat_start

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.both_shapes]

V1 = [
    {"role": "system", "content": "You write {{tone}} answers."},
    {"role": "user", "content": "Tell me about {{ topic }} ({{topic}}!)"},
]
V2 = [{"role": "system", "content": "Version two, about {{topic}}."}]


@pytest.fixture(scope="module")
def tenant(admin: httpx.Client) -> Tenant:
    tenant = create_tenant(admin, f"prompts-{secrets.token_hex(3)}")
    created = admin.post(
        f"/teams/{tenant.team_id}/prompts",
        json={"name": "explain", "messages": V1, "description": "Explains a topic"},
    )
    assert created.status_code == 201, created.text
    published = admin.post(
        f"/teams/{tenant.team_id}/prompts/explain/versions", json={"messages": V2}
    )
    assert published.status_code == 201, published.text
    return tenant


def _sent_upstream(upstream: FakeOpenAI, marker: str) -> list[dict[str, Any]]:
    for request in reversed(upstream.requests):
        if isinstance(request.json, dict) and marker in json.dumps(request.json.get("messages")):
            messages: list[dict[str, Any]] = request.json["messages"]
            return messages
    raise AssertionError(f"no upstream request with {marker}")


def test_prompts_are_kept_with_their_versions_and_variables(
    admin: httpx.Client, tenant: Tenant
) -> None:
    listed = admin.get(f"/teams/{tenant.team_id}/prompts")
    assert listed.status_code == 200
    assert [(p["name"], p["latest_version"]) for p in listed.json()] == [("explain", 2)]
    detail = admin.get(f"/teams/{tenant.team_id}/prompts/explain").json()
    assert detail["prompt"]["description"] == "Explains a topic"
    assert [v["version"] for v in detail["versions"]] == [1, 2]
    assert detail["versions"][0]["variables"] == ["tone", "topic"]
    assert detail["versions"][0]["messages"] == V1
    assert detail["versions"][1]["variables"] == ["topic"]
    assert detail["versions"][1]["created_by"] == "admin"

    def published() -> list[dict[str, Any]]:
        rows = admin.get("/audit", params={"action": "prompt.publish", "limit": 1000}).json()
        return [r for r in rows["rows"] if r["data"]["team_id"] == tenant.team_id]

    assert [r["data"]["version"] for r in eventually(published)] == [1, 2]


async def test_a_chat_names_a_prompt_instead_of_or_before_its_messages(
    gateway: GatewayProcess, upstream: FakeOpenAI, tenant: Tenant
) -> None:
    marker = secrets.token_hex(4)
    async with chat_socket(gateway.base_url, tenant.key) as socket:
        start = chat_start(
            "v1",
            "and one more thing",
            prompt={
                "name": "explain",
                "version": 1,
                "variables": {"tone": "short", "topic": f"tides {marker}"},
            },
        )
        await socket.send(start)
        done = await socket.until_end_of("v1")
        latest = {"type": "chat.start", "id": "v2", "model": "gpt-4o-mini"}
        latest["prompt"] = {"name": "explain", "variables": {"topic": f"moons {marker}x"}}
        await socket.send(latest)
        done_latest = await socket.until_end_of("v2")
    assert done["type"] == "chat.done", done
    assert _sent_upstream(upstream, f"tides {marker}") == [
        {"role": "system", "content": "You write short answers."},
        {"role": "user", "content": f"Tell me about tides {marker} (tides {marker}!)"},
        {"role": "user", "content": "and one more thing"},
    ]
    assert done_latest["type"] == "chat.done", done_latest
    assert _sent_upstream(upstream, f"moons {marker}x") == [
        {"role": "system", "content": f"Version two, about moons {marker}x."}
    ]


@pytest.mark.parametrize(
    ("prompt", "status", "code", "param"),
    [
        (
            {"name": "explain", "version": 1, "variables": {"tone": "dry"}},
            400,
            "invalid_value",
            "prompt.variables.topic",
        ),
        (
            {"name": "explain", "variables": {"topic": "x", "tone": "y"}},
            400,
            "invalid_value",
            "prompt.variables.tone",
        ),
        ({"name": "explain", "version": 9, "variables": {}}, 404, "prompt_not_found", None),
        ({"name": "nothing-here"}, 404, "prompt_not_found", None),
        (
            {"name": "explain", "variables": {"topic": 3}},
            400,
            "invalid_value",
            "prompt.variables[...]",
        ),
        ({"name": "explain", "extra": 1}, 400, "invalid_value", "prompt"),
    ],
)
async def test_a_prompt_that_cannot_be_rendered_is_an_error(
    gateway: GatewayProcess,
    upstream: FakeOpenAI,
    tenant: Tenant,
    prompt: dict[str, Any],
    status: int,
    code: str,
    param: str | None,
) -> None:
    async with chat_socket(gateway.base_url, tenant.key) as socket:
        await socket.send(
            {"type": "chat.start", "id": "p", "model": "gpt-4o-mini", "prompt": prompt}
        )
        error = await socket.until_end_of("p")
        await socket.ping()
    assert error["type"] == "error"
    assert (error["status"], error["error"]["code"], error["error"]["param"]) == (
        status,
        code,
        param,
    )


async def test_a_prompt_of_another_team_is_not_found(
    gateway: GatewayProcess, admin: httpx.Client, tenant: Tenant
) -> None:
    other = create_tenant(admin, f"prompts-other-{secrets.token_hex(3)}")
    async with chat_socket(gateway.base_url, other.key) as socket:
        await socket.send(
            chat_start("p", "hi", prompt={"name": "explain", "variables": {"topic": "x"}})
        )
        assert (await socket.until_end_of("p"))["error"]["code"] == "prompt_not_found"


def test_who_may_change_the_library(
    gateway: GatewayProcess, admin: httpx.Client, tenant: Tenant
) -> None:
    people = {}
    for role in ("member", "viewer"):
        email = f"{role}-{secrets.token_hex(4)}@example.com"
        user = admin.post("/users", json={"org_id": tenant.org_id, "email": email, "role": role})
        token = admin.post(f"/users/{user.json()['id']}/tokens", json={}).json()["token"]
        people[role] = httpx.Client(
            base_url=f"{gateway.base_url}/admin/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    prompts = f"/teams/{tenant.team_id}/prompts"
    body = {"name": "by-a-member", "messages": [{"role": "user", "content": "{{x}}"}]}
    with people["member"] as member, people["viewer"] as viewer:
        assert viewer.get(prompts).status_code == 200
        assert viewer.post(prompts, json=body).status_code == 403
        created = member.post(prompts, json=body)
        assert created.status_code == 201, created.text
        assert created.json()["versions"][0]["created_by"].startswith("user:")
        assert member.post(prompts, json=body).status_code == 409
        assert viewer.delete(f"{prompts}/by-a-member").status_code == 403
        assert member.delete(f"{prompts}/by-a-member").status_code == 200
        assert member.get(f"{prompts}/by-a-member").status_code == 404

    stranger = create_tenant(admin, f"prompts-stranger-{secrets.token_hex(3)}")
    assert admin.get(f"/teams/{stranger.team_id}/prompts").json() == []


@pytest.mark.parametrize(
    "body",
    [
        {"name": "bad/name", "messages": [{"role": "user", "content": "x"}]},
        {"name": "empty", "messages": []},
        {"name": "role", "messages": [{"role": "tool", "content": "x"}]},
        {"name": "content", "messages": [{"role": "user", "content": ""}]},
        {"name": "parts", "messages": [{"role": "user", "content": [{"type": "text"}]}]},
        {"name": "extra", "messages": [{"role": "user", "content": "x", "tool_calls": []}]},
        {"name": "field", "messages": [{"role": "user", "content": "x"}], "version": 3},
    ],
)
def test_a_bad_prompt_is_a_400_problem(
    admin: httpx.Client, tenant: Tenant, body: dict[str, Any]
) -> None:
    answer = admin.post(f"/teams/{tenant.team_id}/prompts", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert admin.get(f"/teams/{tenant.team_id}/prompts/{body['name']}").status_code in (404, 400)


async def test_a_deleted_prompt_is_gone_for_chats(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    tenant = create_tenant(admin, f"prompts-gone-{secrets.token_hex(3)}")
    prompts = f"/teams/{tenant.team_id}/prompts"
    body = {"name": "short-lived", "messages": [{"role": "user", "content": "hello"}]}
    assert admin.post(prompts, json=body).status_code == 201
    async with chat_socket(gateway.base_url, tenant.key) as socket:
        await socket.send(
            {
                "type": "chat.start",
                "id": "a",
                "model": "gpt-4o-mini",
                "prompt": {"name": "short-lived"},
            }
        )
        assert (await socket.until_end_of("a"))["type"] == "chat.done"
        deleted = admin.delete(f"{prompts}/short-lived")
        assert deleted.status_code == 200, deleted.text
        await socket.send(
            {
                "type": "chat.start",
                "id": "b",
                "model": "gpt-4o-mini",
                "prompt": {"name": "short-lived"},
            }
        )
        assert (await socket.until_end_of("b"))["error"]["code"] == "prompt_not_found"

    def deletion() -> list[dict[str, Any]]:
        rows = admin.get("/audit", params={"action": "prompt.delete", "limit": 1000}).json()
        return [r for r in rows["rows"] if r["data"]["team_id"] == tenant.team_id]

    assert eventually(deletion)[0]["data"]["versions"] == 1
