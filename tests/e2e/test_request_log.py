"""The request log through the running gateway, on both shapes: a request of every dialect
(chat, Responses, Messages, Gemini, legacy completions, embeddings, the WebSocket chat), plain
and streamed, a failed-over one (two attempts, two records), a cancelled stream, each read back
from `GET /admin/v1/requests` with its fields as the answer the client got says they are; who
may read which records; pages, filters, exports and bad queries."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest
import websockets

from tests.conftest import UPSTREAM_KEY
from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.gemini_upstream import FakeGemini
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.gateway import GatewayProcess, gateway_config, own_gateway
from tests.support.tenants import Tenant, create_tenant, eventually
from tests.support.ws import chat_socket, chat_start

MTOK = Decimal(1_000_000)
FIELDS = [
    "request_id",
    "id",
    "ts",
    "org_id",
    "team_id",
    "user_id",
    "key_id",
    "dialect",
    "transport",
    "stream",
    "requested_model",
    "model",
    "upstream_model",
    "provider",
    "deployment",
    "route",
    "status",
    "outcome",
    "error_code",
    "cancelled",
    "latency_ms",
    "ttft_ms",
    "prompt_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "cost_usd",
    "priced",
    "usage_reported",
    "cache",
    "tags",
    "metadata",
    "end_user",
]


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.redis])],
)
def gateway(
    request: pytest.FixtureRequest,
    upstream: FakeOpenAI,
    anthropic_upstream: FakeAnthropic,
    gemini_upstream: FakeGemini,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[GatewayProcess]:
    """A gateway of this module's own on each shape: the test gateways' providers, and a
    fallback for the model that always fails (a request that fails over)."""

    def config(database_url: str, redis_url: str | None) -> dict[str, Any]:
        made = gateway_config(
            database_url=database_url,
            redis_url=redis_url,
            upstream_url=upstream.base_url,
            upstream_key=UPSTREAM_KEY,
            anthropic_url=anthropic_upstream.base_url,
            gemini_url=gemini_upstream.base_url,
        )
        made["routing"]["fallbacks"] = {"fake-error-500": ["gpt-4o-mini"]}
        return made

    with own_gateway(
        request.param,
        tmp_path_factory.mktemp(f"gateway-request-log-{request.param}"),
        config,
        upstream_key=UPSTREAM_KEY,
    ) as process:
        yield process


def new_id(name: str) -> str:
    return f"rl-{name}-{secrets.token_hex(6)}"


def post(
    gateway: GatewayProcess, path: str, body: dict[str, Any], rid: str, key: str, **headers: str
) -> httpx.Response:
    sent = {"Authorization": f"Bearer {key}", "x-request-id": rid, **headers}
    answer = httpx.post(f"{gateway.base_url}{path}", json=body, headers=sent, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer


def records(admin: httpx.Client, rid: str, count: int = 1) -> list[dict[str, Any]]:
    """The records of a request, once the accounting wrote `count` of them, oldest first."""

    def written() -> list[dict[str, Any]] | None:
        answer = admin.get(f"/requests/{rid}")
        if answer.status_code == 404:
            return None
        assert answer.status_code == 200, answer.text
        found: list[dict[str, Any]] = answer.json()["attempts"]
        return found if len(found) >= count else None

    found: list[dict[str, Any]] = eventually(written)
    assert len(found) == count
    for record in found:
        assert list(record) == FIELDS
        assert record["request_id"] == rid
        assert record["cache"] == "off"
        assert record["latency_ms"] > 0
        if record["ttft_ms"] is not None:
            assert 0 < record["ttft_ms"] <= record["latency_ms"]
    return found


def of_tenant(record: dict[str, Any], tenant: Tenant) -> None:
    assert (record["org_id"], record["team_id"], record["key_id"], record["user_id"]) == (
        tenant.org_id,
        tenant.team_id,
        tenant.key_id,
        None,
    )


def cost(prompt: int, completion: int, input_per_mtok: str, output_per_mtok: str) -> Decimal:
    return (prompt * Decimal(input_per_mtok) + completion * Decimal(output_per_mtok)) / MTOK


def answered(record: dict[str, Any], *, dialect: str, model: str, provider: str) -> None:
    """A call that was answered at the first try, by `model`."""
    assert record["dialect"] == dialect
    assert record["transport"] == ("websocket" if dialect == "ws" else "http")
    assert (record["requested_model"], record["model"], record["provider"]) == (
        model,
        model,
        provider,
    )
    assert record["deployment"] == f"{provider}/{model}"
    assert record["route"]
    assert (record["status"], record["outcome"], record["error_code"]) == (200, "ok", "")
    assert record["cancelled"] is False
    assert record["usage_reported"] is True
    assert record["priced"] is True


# every dialect, plain and streamed


def test_a_chat_completion_is_one_record_with_its_usage_cost_and_the_callers_tags(
    gateway: GatewayProcess, admin: httpx.Client, tenant: Tenant
) -> None:
    rid = new_id("chat")
    body = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hello there record"}],
        "metadata": {"feature": "search", "customer": "acme", "bad": 3},
        "user": "end-user-42",
    }
    answer = post(
        gateway, "/v1/chat/completions", body, rid, tenant.key, **{"x-fluxrouter-tags": "a, b=c"}
    )
    usage = answer.json()["usage"]
    (record,) = records(admin, rid)
    of_tenant(record, tenant)
    answered(record, dialect="chat", model="gpt-4o-mini", provider="openai")
    assert record["stream"] is False
    assert record["ttft_ms"] is None
    assert record["upstream_model"] == "gpt-4o-mini"
    assert record["prompt_tokens"] == usage["prompt_tokens"]
    assert record["completion_tokens"] == usage["completion_tokens"]
    assert (record["cached_tokens"], record["cache_write_tokens"]) == (0, 0)
    assert record["reasoning_tokens"] == 0
    expected = cost(usage["prompt_tokens"], usage["completion_tokens"], "0.15", "0.60")
    assert Decimal(record["cost_usd"]) == expected
    assert record["tags"] == ["a", "b=c"]
    assert record["metadata"] == {"feature": "search", "customer": "acme"}  # strings only
    assert record["end_user"] == "end-user-42"
    assert record["route"] == answer.headers["x-fluxrouter-route"]


def test_a_streamed_chat_has_its_time_to_first_token_and_cached_and_reasoning_tokens(
    gateway: GatewayProcess, admin: httpx.Client, tenant: Tenant
) -> None:
    rid = new_id("chat-stream")
    body = {
        "model": "o-cached-reasoning",
        "messages": [{"role": "user", "content": "think about caching please " * 10}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    answer = post(gateway, "/v1/chat/completions", body, rid, tenant.key)
    chunks = [
        json.loads(line[len("data: ") :])
        for line in answer.text.splitlines()
        if line.startswith("data: {")
    ]
    usage = chunks[-1]["usage"]
    (record,) = records(admin, rid)
    answered(record, dialect="chat", model="o-cached-reasoning", provider="openai")
    assert record["upstream_model"] == "fake-cached-reasoning"
    assert record["stream"] is True
    assert record["ttft_ms"] is not None
    assert record["prompt_tokens"] == usage["prompt_tokens"]
    assert record["cached_tokens"] == usage["prompt_tokens_details"]["cached_tokens"] > 0
    assert record["completion_tokens"] == usage["completion_tokens"]
    assert record["reasoning_tokens"] == usage["completion_tokens_details"]["reasoning_tokens"]
    assert record["reasoning_tokens"] > 0
    assert (record["tags"], record["metadata"], record["end_user"]) == ([], None, None)


@pytest.mark.parametrize("stream", [False, True])
def test_a_response_is_recorded_as_the_responses_dialect(
    gateway: GatewayProcess, admin: httpx.Client, tenant: Tenant, stream: bool
) -> None:
    rid = new_id("responses")
    body = {"model": "gpt-4o-mini", "input": "hello responses", "stream": stream}
    body["metadata"] = {"agent": "planner"}
    answer = post(gateway, "/v1/responses", body, rid, tenant.key)
    (record,) = records(admin, rid)
    answered(record, dialect="responses", model="gpt-4o-mini", provider="openai")
    assert record["stream"] is stream
    assert (record["ttft_ms"] is not None) is stream
    assert record["metadata"] == {"agent": "planner"}
    if not stream:
        usage = answer.json()["usage"]
        assert record["prompt_tokens"] == usage["input_tokens"]
        assert record["completion_tokens"] == usage["output_tokens"]
    else:
        assert record["prompt_tokens"] > 0
        assert record["completion_tokens"] > 0


@pytest.mark.parametrize("stream", [False, True])
def test_a_message_is_recorded_as_the_messages_dialect_with_its_cache_writes(
    gateway: GatewayProcess, admin: httpx.Client, tenant: Tenant, stream: bool
) -> None:
    rid = new_id("messages")
    body = {
        "model": "claude-every-token",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hello claude"}],
        "metadata": {"user_id": "claude-user-7"},
        "stream": stream,
    }
    answer = post(gateway, "/v1/messages", body, rid, tenant.key, **{"anthropic-version": "1"})
    (record,) = records(admin, rid)
    answered(record, dialect="messages", model="claude-every-token", provider="anthropic")
    assert record["stream"] is stream
    assert (record["ttft_ms"] is not None) is stream
    assert record["metadata"] == {"user_id": "claude-user-7"}
    assert record["cached_tokens"] > 0
    assert record["cache_write_tokens"] > 0
    if not stream:
        usage = answer.json()["usage"]
        read, written = usage["cache_read_input_tokens"], usage["cache_creation_input_tokens"]
        assert (record["cached_tokens"], record["cache_write_tokens"]) == (read, written)
        assert record["prompt_tokens"] == usage["input_tokens"] + read + written
        assert record["completion_tokens"] == usage["output_tokens"]


@pytest.mark.parametrize("stream", [False, True])
def test_a_gemini_generation_is_recorded_as_the_gemini_dialect(
    gateway: GatewayProcess, admin: httpx.Client, tenant: Tenant, stream: bool
) -> None:
    rid = new_id("gemini")
    body = {"contents": [{"parts": [{"text": "hello gemini"}]}]}
    path = "/v1beta/models/gemini-2.5-flash:" + (
        "streamGenerateContent?alt=sse" if stream else "generateContent"
    )
    answer = post(gateway, path, body, rid, tenant.key)
    (record,) = records(admin, rid)
    answered(record, dialect="gemini", model="gemini-2.5-flash", provider="gemini")
    assert record["stream"] is stream
    assert (record["ttft_ms"] is not None) is stream
    if not stream:
        usage = answer.json()["usageMetadata"]
        assert record["prompt_tokens"] == usage["promptTokenCount"]
        assert record["completion_tokens"] == usage["candidatesTokenCount"]
        expected = cost(record["prompt_tokens"], record["completion_tokens"], "0.3", "2.5")
        assert Decimal(record["cost_usd"]) == expected


@pytest.mark.parametrize("stream", [False, True])
def test_a_legacy_completion_is_recorded_as_the_completions_dialect(
    gateway: GatewayProcess, admin: httpx.Client, tenant: Tenant, stream: bool
) -> None:
    rid = new_id("completions")
    body = {"model": "gpt-3.5-turbo-instruct", "prompt": "say it", "stream": stream}
    answer = post(gateway, "/v1/completions", body, rid, tenant.key)
    (record,) = records(admin, rid)
    answered(record, dialect="completions", model="gpt-3.5-turbo-instruct", provider="openai")
    assert record["stream"] is stream
    if not stream:
        usage = answer.json()["usage"]
        assert record["prompt_tokens"] == usage["prompt_tokens"]
        assert record["completion_tokens"] == usage["completion_tokens"]


def test_embeddings_are_recorded_as_the_embeddings_dialect(
    gateway: GatewayProcess, admin: httpx.Client, tenant: Tenant
) -> None:
    rid = new_id("embeddings")
    body = {"model": "text-embedding-3-small", "input": "embed me", "user": "embedder"}
    answer = post(gateway, "/v1/embeddings", body, rid, tenant.key)
    (record,) = records(admin, rid)
    answered(record, dialect="embeddings", model="text-embedding-3-small", provider="openai")
    assert record["stream"] is False
    assert record["prompt_tokens"] == answer.json()["usage"]["prompt_tokens"]
    assert record["completion_tokens"] == 0
    assert record["end_user"] == "embedder"


async def test_a_websocket_generation_is_recorded_as_ws(
    gateway: GatewayProcess, admin: httpx.Client, tenant: Tenant
) -> None:
    async with chat_socket(gateway.base_url, tenant.key) as socket:
        await socket.send(
            chat_start("g", "hello over the socket", metadata={"agent": "ws"}, user="ws-user")
        )
        done = await socket.until_end_of("g")
    assert done["type"] == "chat.done", done
    (record,) = records(admin, done["request_id"])
    answered(record, dialect="ws", model="gpt-4o-mini", provider="openai")
    assert record["stream"] is True
    assert record["ttft_ms"] is not None
    assert record["prompt_tokens"] == done["usage"]["prompt_tokens"]
    assert record["completion_tokens"] == done["usage"]["completion_tokens"]
    assert (record["metadata"], record["end_user"], record["tags"]) == (
        {"agent": "ws"},
        "ws-user",
        [],
    )


async def test_a_response_over_the_responses_websocket_mode_is_the_responses_dialect(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    tenant = create_tenant(admin, f"reqlog-rws-{secrets.token_hex(3)}")
    url = gateway.base_url.replace("http://", "ws://") + "/v1/responses"
    headers = {"Authorization": f"Bearer {tenant.key}"}
    create = {"type": "response.create", "model": "gpt-4o-mini", "input": "hello", "user": "w"}
    async with websockets.connect(url, additional_headers=headers) as socket:
        await socket.send(json.dumps(create))
        async with asyncio.timeout(10):
            while (event := json.loads(await socket.recv()))["type"] != "response.completed":
                assert event["type"] != "error", event
    usage = event["response"]["usage"]

    def written() -> list[dict[str, Any]]:
        answer = admin.get("/requests", params={"key_id": tenant.key_id})
        assert answer.status_code == 200, answer.text
        rows: list[dict[str, Any]] = answer.json()["rows"]
        return rows

    (record,) = eventually(written)
    (again,) = records(admin, record["request_id"])
    assert again == record
    assert (record["dialect"], record["transport"], record["stream"]) == (
        "responses",
        "websocket",
        True,
    )
    assert (record["model"], record["outcome"], record["end_user"]) == ("gpt-4o-mini", "ok", "w")
    assert record["prompt_tokens"] == usage["input_tokens"]
    assert record["completion_tokens"] == usage["output_tokens"]
    assert record["ttft_ms"] is not None


# failed over, cancelled


def test_a_failed_over_request_has_a_record_per_attempt_with_its_route(
    gateway: GatewayProcess, admin: httpx.Client, tenant: Tenant
) -> None:
    rid = new_id("failover")
    body = {"model": "fake-error-500", "messages": [{"role": "user", "content": "fail me"}]}
    answer = post(gateway, "/v1/chat/completions", body, rid, tenant.key)
    failed, served = records(admin, rid, 2)
    assert failed["requested_model"] == served["requested_model"] == "fake-error-500"
    assert (failed["model"], failed["status"], failed["outcome"]) == (
        "fake-error-500",
        502,
        "error",
    )
    assert failed["error_code"] == "upstream_server_error"
    assert failed["deployment"] == "openai/fake-error-500"
    assert (failed["prompt_tokens"], failed["completion_tokens"], failed["cost_usd"]) == (0, 0, "0")
    assert (served["model"], served["status"], served["outcome"]) == ("gpt-4o-mini", 200, "ok")
    assert served["deployment"] == "openai/gpt-4o-mini"
    assert "fallback" in served["route"]
    assert "fallback" not in failed["route"]
    assert served["route"] == answer.headers["x-fluxrouter-route"]
    assert served["prompt_tokens"] == answer.json()["usage"]["prompt_tokens"]
    assert failed["ts"] <= served["ts"]


def test_a_stream_the_client_leaves_is_recorded_cancelled(
    gateway: GatewayProcess, admin: httpx.Client, tenant: Tenant
) -> None:
    rid = new_id("cancel")
    body = {
        "model": "fake-slow-stream",
        "max_tokens": 200,
        "messages": [{"role": "user", "content": "go on and on"}],
        "stream": True,
    }
    headers = {"Authorization": f"Bearer {tenant.key}", "x-request-id": rid}
    with (
        httpx.Client(timeout=30) as client,
        client.stream(
            "POST", f"{gateway.base_url}/v1/chat/completions", json=body, headers=headers
        ) as answer,
    ):
        assert answer.status_code == 200
        for line in answer.iter_lines():
            if line.startswith("data: {") and "tok1" in line:
                break  # the client leaves once it read a word
    (record,) = records(admin, rid)
    assert (record["outcome"], record["cancelled"], record["status"]) == ("cancelled", True, 200)
    assert record["stream"] is True
    assert record["ttft_ms"] is not None
    assert record["model"] == "fake-slow-stream"


# who reads what


@dataclass(frozen=True)
class Person:
    user_id: str
    token: str


def person(admin: httpx.Client, org_id: str, role: str) -> Person:
    name = f"{role}-{secrets.token_hex(3)}"
    made = admin.post(
        "/users", json={"org_id": org_id, "email": f"{name}@example.com", "role": role}
    )
    assert made.status_code == 201, made.text
    user_id = made.json()["id"]
    token = admin.post(f"/users/{user_id}/tokens", json={})
    assert token.status_code == 201, token.text
    return Person(user_id, token.json()["token"])


def as_(gateway: GatewayProcess, who: Person) -> httpx.Client:
    return httpx.Client(
        base_url=f"{gateway.base_url}/admin/v1",
        timeout=10,
        headers={"Authorization": f"Bearer {who.token}"},
    )


def chat(gateway: GatewayProcess, key: str, rid: str, tags: str = "") -> httpx.Response:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    extra = {"x-fluxrouter-tags": tags} if tags else {}
    return post(gateway, "/v1/chat/completions", body, rid, key, **extra)


def problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    assert body["status"] == status
    return body


def test_an_org_admin_reads_their_org_and_a_member_the_records_of_their_own_keys(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    mine = create_tenant(admin, f"reqlog-scope-{secrets.token_hex(3)}")
    other = create_tenant(admin, f"reqlog-other-{secrets.token_hex(3)}")
    org_admin, viewer, member, outsider = (
        person(admin, mine.org_id, "admin"),
        person(admin, mine.org_id, "viewer"),
        person(admin, mine.org_id, "member"),
        person(admin, other.org_id, "admin"),
    )
    key = admin.post(
        "/keys", json={"team_id": mine.team_id, "name": "member-key", "user_id": member.user_id}
    )
    assert key.status_code == 201, key.text
    members_rid, teams_rid, others_rid = new_id("m"), new_id("t"), new_id("o")
    chat(gateway, key.json()["key"], members_rid)
    chat(gateway, mine.key, teams_rid)
    chat(gateway, other.key, others_rid)
    for rid in (members_rid, teams_rid, others_rid):
        records(admin, rid)

    def listed(client: httpx.Client, **params: str) -> set[str]:
        answer = client.get("/requests", params={"limit": "1000", **params})
        assert answer.status_code == 200, answer.text
        return {row["request_id"] for row in answer.json()["rows"]}

    everything = listed(admin)
    assert {members_rid, teams_rid, others_rid} <= everything
    assert listed(admin, org_id=mine.org_id) >= {members_rid, teams_rid}
    assert others_rid not in listed(admin, org_id=mine.org_id)
    for reader in (org_admin, viewer):
        with as_(gateway, reader) as client:
            assert listed(client) == {members_rid, teams_rid}
            assert client.get(f"/requests/{teams_rid}").status_code == 200
            problem(client.get(f"/requests/{others_rid}"), 404)
            problem(client.get("/requests", params={"org_id": other.org_id}), 404)
    with as_(gateway, member) as client:
        assert listed(client) == {members_rid}
        (row,) = client.get(f"/requests/{members_rid}").json()["attempts"]
        assert row["user_id"] == member.user_id
        # another's request in the same org is as unknown as one of another org
        assert (
            problem(client.get(f"/requests/{teams_rid}"), 404)["detail"]
            == problem(client.get(f"/requests/{others_rid}"), 404)["detail"]
        )
        problem(client.get("/requests", params={"user_id": org_admin.user_id}), 403)
        assert listed(client, user_id=member.user_id) == {members_rid}
    with as_(gateway, outsider) as client:
        assert listed(client) == {others_rid}
        problem(client.get(f"/requests/{members_rid}"), 404)
    problem(httpx.get(f"{gateway.base_url}/admin/v1/requests", timeout=10), 401)


# pages, filters, exports


def test_pages_newest_first_follow_the_cursor_and_the_filters_apply(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    tenant = create_tenant(admin, f"reqlog-pages-{secrets.token_hex(3)}")
    marker = f"batch-{secrets.token_hex(4)}"
    rids = [new_id(f"p{i}") for i in range(5)]
    for rid in rids:
        chat(gateway, tenant.key, rid, tags=f"{marker}, nightly")
    failed = new_id("p-failed")
    body = {"model": "fake-error-400", "messages": [{"role": "user", "content": "x"}]}
    refused = httpx.post(
        f"{gateway.base_url}/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {tenant.key}", "x-request-id": failed},
        timeout=30,
    )
    assert refused.status_code == 400
    for rid in [*rids, failed]:
        records(admin, rid)

    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        params = {"tag": marker, "limit": "2", **({"cursor": cursor} if cursor else {})}
        answer = admin.get("/requests", params=params)
        assert answer.status_code == 200, answer.text
        pages.append(answer.json()["rows"])
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            break
    assert [len(page) for page in pages] in ([2, 2, 1], [2, 2, 1, 0])
    rows = [row for page in pages for row in page]
    assert [row["request_id"] for row in rows] == rids[::-1]  # newest first
    assert [(row["ts"], row["id"]) for row in rows] == sorted(
        ((row["ts"], row["id"]) for row in rows), reverse=True
    )

    def found(**params: str) -> list[str]:
        answer = admin.get("/requests", params={"key_id": tenant.key_id, **params})
        assert answer.status_code == 200, answer.text
        return [row["request_id"] for row in answer.json()["rows"]]

    everything = [*rids[::-1]]
    assert found()[1:] == everything
    assert found()[0] == failed
    assert found(status="error") == [failed]
    assert found(status="400") == [failed]
    assert found(status="ok") == everything
    assert found(model="gpt-4o-mini") == everything
    assert found(model="fake-error-400", provider="openai") == [failed]
    assert found(provider="anthropic") == []
    assert found(tag="nightly") == everything
    assert found(tag="nightl") == []  # a whole tag, never a part of one
    assert found(team_id=tenant.team_id, dialect="chat")[1:] == everything
    assert found(org_id=tenant.org_id, min_latency_ms="0")[1:] == everything
    assert found(min_latency_ms="1000000") == []
    middle = admin.get(f"/requests/{rids[2]}").json()["attempts"][0]["ts"]
    assert found(to=middle) == rids[:2][::-1]
    assert found(**{"from": middle})[-3:] == rids[2:][::-1]


def test_the_log_exports_as_csv_and_json_lines(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    tenant = create_tenant(admin, f"reqlog-export-{secrets.token_hex(3)}")
    rids = [new_id(f"e{i}") for i in range(3)]
    for rid in rids:
        chat(gateway, tenant.key, rid, tags='quote"d')
    for rid in rids:
        records(admin, rid)
    page = admin.get("/requests", params={"key_id": tenant.key_id}).json()["rows"]

    as_csv = admin.get("/requests", params={"key_id": tenant.key_id, "format": "csv"})
    assert as_csv.status_code == 200, as_csv.text
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(as_csv.text)))
    assert table[0] == FIELDS
    assert [row[0] for row in table[1:]] == rids[::-1]
    by_name = [dict(zip(FIELDS, row, strict=True)) for row in table[1:]]
    assert [row["cost_usd"] for row in by_name] == [row["cost_usd"] for row in page]
    assert json.loads(by_name[0]["tags"]) == ['quote"d']
    assert by_name[0]["stream"] == "false"
    assert by_name[0]["ttft_ms"] == ""

    as_lines = admin.get(
        "/requests",
        params={"key_id": tenant.key_id},
        headers={"Accept": "application/x-ndjson"},
    )
    assert as_lines.status_code == 200, as_lines.text
    assert as_lines.headers["content-type"].startswith("application/x-ndjson")
    assert [json.loads(line) for line in as_lines.text.splitlines()] == page
    jsonl = admin.get("/requests", params={"key_id": tenant.key_id, "format": "jsonl"})
    assert jsonl.text == as_lines.text


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "MjAyNi0xMi0wN1QyMDowMDowMHw="}, "cursor"),  # a time, no id
        ({"status": "fine"}, None),
        ({"limit": "0"}, None),
        ({"limit": "1001"}, None),
        ({"min_latency_ms": "-1"}, None),
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-12-08T00:00:00Z", "to": "2026-12-07T00:00:00Z"}, None),
        ({"format": "xml"}, None),
        ({"dialect": "smoke-signals"}, None),
        ({"org_id": "a\x00b"}, None),
    ],
)
def test_a_bad_query_is_a_problem_never_a_500(
    admin: httpx.Client, params: dict[str, str], param: str | None
) -> None:
    body = problem(admin.get("/requests", params=params), 400)
    assert body["detail"]
    if param is not None:
        assert param in body["detail"]


def test_an_unknown_request_is_a_404(admin: httpx.Client) -> None:
    problem(admin.get(f"/requests/{new_id('none')}"), 404)
    problem(admin.get(f"/requests/{'x' * 65}"), 404)


def test_the_routes_are_in_the_openapi_document(gateway: GatewayProcess) -> None:
    document = httpx.get(f"{gateway.base_url}/schema/openapi.json", timeout=10)
    assert document.status_code == 200
    paths = document.json()["paths"]
    listed = paths["/admin/v1/requests"]["get"]
    names = {parameter["name"] for parameter in listed["parameters"]}
    assert {"from", "to", "org_id", "team_id", "user_id", "key_id", "model"} <= names
    assert {"provider", "status", "tag", "min_latency_ms", "cursor", "format"} <= names
    assert "/admin/v1/requests/{request_id}" in paths
