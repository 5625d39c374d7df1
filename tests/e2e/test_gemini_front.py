"""The official `google-genai` SDK pointed at the gateway, with any model behind it: natively to a
Gemini model (its body reaching the upstream byte for byte, its answers coming back as Google
wrote them), translated to the OpenAI and Anthropic ones; generation plain and streamed, token
counts, embeddings one and many, usage and cost recorded, and every error in Google's shape."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import httpx
import msgspec
import pytest
from google import genai
from google.genai import errors, types

from tests.fakes.gemini_upstream import RUNAWAY_PIECE_WORDS, RUNAWAY_PIECES, FakeGemini
from tests.support.gateway import LIMITS_RELOAD, GatewayProcess
from tests.support.matrix import assert_usage_recorded
from tests.support.tenants import Tenant, create_tenant, eventually

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.both_shapes]

NATIVE = "gemini-2.5-flash"
TRANSLATED = ["gpt-4o-mini", "claude-haiku-4-5"]
NO_AFC = types.AutomaticFunctionCallingConfig(disable=True)
SEARCH = types.FunctionDeclaration(
    name="search",
    description="Search the web",
    parameters=types.Schema(
        type=types.Type.OBJECT,
        properties={"query": types.Schema(type=types.Type.STRING)},
        required=["query"],
    ),
)


class Sent:
    """The bodies the SDK sent, by path, as an httpx request hook sees them."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str, bytes]] = []

    def hook(self, request: httpx.Request) -> None:
        self.bodies.append((request.url.path, request.read()))

    def last(self, method: str) -> bytes:
        return next(body for path, body in reversed(self.bodies) if path.endswith(f":{method}"))


def _client(gateway: GatewayProcess, key: str, sent: Sent | None = None) -> genai.Client:
    args: dict[str, Any] = {"event_hooks": {"request": [sent.hook]}} if sent else {}
    return genai.Client(
        api_key=key,
        http_options=types.HttpOptions(
            base_url=gateway.base_url,
            retry_options=types.HttpRetryOptions(attempts=1),
            client_args=args,
        ),
    )


@pytest.fixture(scope="module")
def tenant(gateway: GatewayProcess) -> Tenant:
    with gateway.admin() as admin:
        return create_tenant(admin, f"gemini-front-{secrets.token_hex(3)}")


def _fresh(gateway: GatewayProcess, name: str) -> Tenant:
    with gateway.admin() as admin:
        return create_tenant(admin, f"{name}-{secrets.token_hex(3)}")


def _seen(usage: Any) -> tuple[int, int, int]:
    """(prompt tokens, of which cached, output tokens) as a Gemini answer reports them."""
    return (
        usage.prompt_token_count or 0,
        usage.cached_content_token_count or 0,
        (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0),
    )


def _received(fake: FakeGemini, method: str) -> Any:
    return next(r for r in reversed(fake.requests) if r.path.endswith(f":{method}"))


# --- natively, to a Gemini model ----------------------------------------------------------------


def test_a_gemini_model_gets_the_body_byte_for_byte_and_answers_as_google_wrote_it(
    gateway: GatewayProcess, gemini_upstream: FakeGemini
) -> None:
    tenant = _fresh(gateway, "native")
    sent = Sent()
    client = _client(gateway, tenant.key, sent)
    config = types.GenerateContentConfig(
        system_instruction="You are terse.",
        temperature=0.5,
        top_k=7,  # no OpenAI meaning: only a native pass-through keeps it
        safety_settings=[
            types.SafetySetting(
                category=types.HarmCategory.HARM_CATEGORY_HARASSMENT,
                threshold=types.HarmBlockThreshold.BLOCK_ONLY_HIGH,
            )
        ],
        automatic_function_calling=NO_AFC,
    )
    seen = []
    reply = client.models.generate_content(model=NATIVE, contents="hello there", config=config)
    assert reply.text == "Echo: hello there"
    assert reply.candidates[0].finish_reason == types.FinishReason.STOP
    seen.append(_seen(reply.usage_metadata))
    received = _received(gemini_upstream, "generateContent")
    assert received.raw == sent.last("generateContent")  # byte for byte
    assert received.json["generationConfig"]["topK"] == 7
    assert received.json["safetySettings"][0]["threshold"] == "BLOCK_ONLY_HIGH"
    assert received.headers["x-goog-api-key"] != tenant.key  # the gateway's key upstream
    assert tenant.key not in str(received.headers)
    assert received.path == f"/v1beta/models/{NATIVE}:generateContent"

    chunks = list(
        client.models.generate_content_stream(model=NATIVE, contents="one two three", config=config)
    )
    assert "".join(chunk.text or "" for chunk in chunks) == "Echo: one two three"
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    seen.append(_seen(chunks[-1].usage_metadata))
    streamed = _received(gemini_upstream, "streamGenerateContent")
    assert streamed.raw == sent.last("streamGenerateContent")
    assert streamed.query.get("alt") == "sse"
    assert_usage_recorded(gateway, tenant.key_id, NATIVE, seen)


def test_a_native_answer_and_stream_are_googles_own_bytes(
    gateway: GatewayProcess, tenant: Tenant
) -> None:
    body = {"contents": [{"parts": [{"text": "a b c"}]}]}
    url = f"{gateway.base_url}/v1beta/models/{NATIVE}"
    headers = {"x-goog-api-key": tenant.key}
    answer = httpx.post(f"{url}:generateContent", json=body, headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    parsed = answer.json()
    # Google pretty-prints with a two-space indent; the gateway's own JSON is compact
    assert answer.content == msgspec.json.format(msgspec.json.encode(parsed), indent=2)
    assert parsed["usageMetadata"]["promptTokensDetails"] == [{"modality": "TEXT", "tokenCount": 3}]
    streamed = httpx.post(
        f"{url}:streamGenerateContent",
        params={"alt": "sse"},
        json=body,
        headers=headers,
        timeout=30,
    )
    assert streamed.status_code == 200
    assert streamed.headers["content-type"].startswith("text/event-stream")
    events = streamed.content.split(b"\r\n\r\n")
    assert events[-1] == b""
    assert all(e.startswith(b"data: {") for e in events[:-1])
    assert [
        json.loads(e[6:])["candidates"][0]["content"]["parts"][0]["text"] for e in events[:-1]
    ] == [
        "Echo:",
        " a",
        " b",
        " c",
    ]
    as_array = httpx.post(f"{url}:streamGenerateContent", json=body, headers=headers, timeout=30)
    assert as_array.status_code == 200
    elements = as_array.json()
    assert [e["candidates"][0]["content"]["parts"][0]["text"] for e in elements] == [
        "Echo:",
        " a",
        " b",
        " c",
    ]


def test_a_native_stream_past_its_reservation_ends_with_max_tokens(
    gateway: GatewayProcess,
) -> None:
    tenant = _fresh(gateway, "native-cut")
    with gateway.admin() as admin:
        answer = admin.put(
            f"/keys/{tenant.key_id}/limits", json={"period": "day", "max_tokens": 100_000}
        )
        assert answer.status_code == 200, answer.text
    time.sleep(LIMITS_RELOAD)
    client = _client(gateway, tenant.key)
    config = types.GenerateContentConfig(max_output_tokens=300, automatic_function_calling=NO_AFC)
    chunks = list(
        client.models.generate_content_stream(model="gemini-runaway", contents="go", config=config)
    )
    last = chunks[-1]
    assert last.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS
    assert 0 < last.usage_metadata.candidates_token_count <= 300
    text = "".join(chunk.text or "" for chunk in chunks)
    assert 0 < len(text.split()) < RUNAWAY_PIECES * RUNAWAY_PIECE_WORDS  # cut, not all of it

    def billed() -> int:
        with gateway.admin() as admin:
            rows = admin.get("/usage", params={"group_by": "key"}).json()["rows"]
        mine = [row for row in rows if row["key"] == tenant.key_id]
        return int(mine[0]["output_tokens"]) if mine else 0

    assert 0 < eventually(billed) <= 300


def test_count_tokens_natively_and_estimated(gateway: GatewayProcess, tenant: Tenant) -> None:
    client = _client(gateway, tenant.key)
    contents = "one two three four five"
    assert client.models.count_tokens(model=NATIVE, contents=contents).total_tokens == 5
    for model in TRANSLATED:
        estimated = client.models.count_tokens(model=model, contents=contents).total_tokens
        assert estimated is not None
        assert 5 <= estimated < 30
    nested = httpx.post(
        f"{gateway.base_url}/v1beta/models/{NATIVE}:countTokens",
        headers={"x-goog-api-key": tenant.key},
        json={
            "generateContentRequest": {
                "model": f"models/{NATIVE}",
                "contents": [{"role": "user", "parts": [{"text": "six seven"}]}],
                "systemInstruction": {"parts": [{"text": "be brief"}]},
            }
        },
        timeout=30,
    )
    assert nested.json() == {"totalTokens": 4}


@pytest.mark.parametrize(
    ("model", "dimensions"), [("text-embedding-004", 8), ("text-embedding-3-small", None)]
)
def test_embeddings_one_and_many(
    gateway: GatewayProcess, model: str, dimensions: int | None
) -> None:
    tenant = _fresh(gateway, "embed")
    client = _client(gateway, tenant.key)
    many = client.models.embed_content(model=model, contents=["first text", "second text"])
    assert many.embeddings is not None
    assert len(many.embeddings) == 2
    first = many.embeddings[0].values
    assert first
    assert first != many.embeddings[1].values
    if dimensions is not None:
        assert len(first) == dimensions
    shorter = client.models.embed_content(
        model=model, contents="first text", config=types.EmbedContentConfig(output_dimensionality=4)
    )
    assert shorter.embeddings is not None
    assert len(shorter.embeddings[0].values or []) == 4
    single = httpx.post(
        f"{gateway.base_url}/v1beta/models/{model}:embedContent",
        headers={"x-goog-api-key": tenant.key},
        json={"content": {"parts": [{"text": "first text"}]}, "taskType": "RETRIEVAL_QUERY"},
        timeout=30,
    )
    assert single.status_code == 200, single.text
    assert single.json()["embedding"]["values"] == pytest.approx(first)

    def recorded() -> dict[str, Any]:  # three calls, each billed for its input
        with gateway.admin() as admin:
            rows = admin.get("/usage", params={"group_by": "key"}).json()["rows"]
        mine = [row for row in rows if row["key"] == tenant.key_id and row["requests"] == 3]
        return mine[0] if mine else {}

    row = eventually(recorded)
    assert row["input_tokens"] > 0
    assert row["output_tokens"] == 0


# --- translated, to other models ----------------------------------------------------------------


@pytest.mark.parametrize("model", TRANSLATED)
def test_another_model_answers_in_geminis_shapes(gateway: GatewayProcess, model: str) -> None:
    tenant = _fresh(gateway, f"translated-{model}")
    client = _client(gateway, tenant.key)
    config = types.GenerateContentConfig(
        system_instruction="You are terse.", max_output_tokens=64, automatic_function_calling=NO_AFC
    )
    seen = []
    reply = client.models.generate_content(model=model, contents="hello from gemini", config=config)
    assert reply.text == "Echo: hello from gemini"
    assert reply.candidates[0].finish_reason == types.FinishReason.STOP
    assert reply.model_version
    assert reply.response_id
    seen.append(_seen(reply.usage_metadata))
    chunks = list(
        client.models.generate_content_stream(
            model=model, contents="hello from gemini", config=config
        )
    )
    assert "".join(chunk.text or "" for chunk in chunks) == reply.text
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert (
        chunks[-1].usage_metadata.candidates_token_count
        == reply.usage_metadata.candidates_token_count
    )
    seen.append(_seen(chunks[-1].usage_metadata))

    tools = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[SEARCH])], automatic_function_calling=NO_AFC
    )
    asked = types.Content(role="user", parts=[types.Part.from_text(text="weather in Lyon")])
    called = client.models.generate_content(model=model, contents=[asked], config=tools)
    seen.append(_seen(called.usage_metadata))
    call = called.function_calls[0]
    assert (call.name, call.args) == ("search", {"query": "weather in Lyon"})
    streamed = list(
        client.models.generate_content_stream(model=model, contents=[asked], config=tools)
    )
    seen.append(_seen(streamed[-1].usage_metadata))
    streamed_calls = [c for chunk in streamed for c in chunk.function_calls or []]
    assert [(c.name, c.args) for c in streamed_calls] == [("search", {"query": "weather in Lyon"})]
    answered = client.models.generate_content(
        model=model,
        contents=[
            asked,
            types.Content(role="model", parts=[types.Part(function_call=call)]),
            types.Content(
                role="user",
                parts=[
                    types.Part.from_function_response(name="search", response={"result": "sunny"})
                ],
            ),
        ],
        config=tools,
    )
    seen.append(_seen(answered.usage_metadata))
    assert "sunny" in (answered.text or "")
    assert_usage_recorded(gateway, tenant.key_id, model, seen)


def test_a_gemini_only_feature_to_another_model_is_a_clear_400(
    gateway: GatewayProcess, tenant: Tenant
) -> None:
    client = _client(gateway, tenant.key)
    config = types.GenerateContentConfig(
        tools=[types.Tool(google_search=types.GoogleSearch())], automatic_function_calling=NO_AFC
    )
    with pytest.raises(errors.ClientError) as refused:
        client.models.generate_content(model="gpt-4o-mini", contents="news", config=config)
    assert refused.value.code == 400
    assert refused.value.status == "INVALID_ARGUMENT"
    assert "tools[0].googleSearch" in (refused.value.message or "")


# --- errors, in Google's shape ------------------------------------------------------------------


def _error_of(answer: httpx.Response) -> dict[str, Any]:
    body = answer.json()
    assert set(body) == {"error"}
    assert (
        {"code", "message", "status"}
        <= set(body["error"])
        <= {"code", "message", "status", "details"}
    )
    assert body["error"]["code"] == answer.status_code
    return body["error"]  # type: ignore[no-any-return]


def test_errors_are_googles(gateway: GatewayProcess, tenant: Tenant) -> None:
    bad = _client(gateway, "fr-" + "y" * 43)
    with pytest.raises(errors.ClientError) as refused:
        bad.models.generate_content(model=NATIVE, contents="hi")
    assert (refused.value.code, refused.value.status) == (401, "UNAUTHENTICATED")
    assert "fr-yyyy" not in str(refused.value.details)

    client = _client(gateway, tenant.key)
    with pytest.raises(errors.ClientError) as unknown:
        client.models.generate_content(model="no-such-model", contents="hi")
    assert (unknown.value.code, unknown.value.status) == (404, "NOT_FOUND")
    with pytest.raises(errors.ClientError) as invalid:
        client.models.generate_content(
            model=NATIVE, contents="hi", config=types.GenerateContentConfig(temperature=5)
        )
    assert (invalid.value.code, invalid.value.status) == (400, "INVALID_ARGUMENT")
    assert "temperature" in (invalid.value.message or "")
    with pytest.raises(errors.ClientError) as exhausted:  # the upstream's own 429
        client.models.generate_content(model="gemini-exhausted", contents="hi")
    assert (exhausted.value.code, exhausted.value.status) == (429, "RESOURCE_EXHAUSTED")
    assert exhausted.value.response.headers["retry-after"] == "7"

    base = f"{gateway.base_url}/v1beta/models"
    for path, key, status in [
        (f"{NATIVE}:generateContent", None, 401),
        (f"{NATIVE}:noSuchMethod", tenant.key, 404),
        (f"{NATIVE}:noSuchMethod", None, 404),  # no method: whatever the key
        (f"{NATIVE}:noSuchMethod", "fr-" + "y" * 43, 404),
        ("no-colon-here", tenant.key, 404),
    ]:
        headers = {"x-goog-api-key": key} if key else {}
        answer = httpx.post(f"{base}/{path}", json={}, headers=headers, timeout=30)
        assert answer.status_code == status, answer.text
        _error_of(answer)
    for body in (b"{not json", b"[]", b'{"contents": []}', b'{"contents": [{"parts": "x"}]}'):
        answer = httpx.post(
            f"{base}/{NATIVE}:generateContent",
            content=body,
            headers={"x-goog-api-key": tenant.key, "content-type": "application/json"},
            timeout=30,
        )
        assert answer.status_code == 400, answer.text
        assert _error_of(answer)["status"] == "INVALID_ARGUMENT"
    missing = httpx.get(f"{gateway.base_url}/v1beta/nothing", timeout=30)
    assert missing.status_code == 404
    assert _error_of(missing)["status"] == "NOT_FOUND"


def test_the_key_is_taken_from_the_query_or_a_bearer_header(
    gateway: GatewayProcess, tenant: Tenant
) -> None:
    body = {"contents": [{"parts": [{"text": "hi"}]}]}
    for params, headers in [
        ({"key": tenant.key}, {}),
        ({}, {"Authorization": f"Bearer {tenant.key}"}),
    ]:
        answer = httpx.post(
            f"{gateway.base_url}/v1/models/gpt-4o-mini:generateContent",
            params=params,
            headers=headers,
            json=body,
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["candidates"][0]["content"]["parts"] == [{"text": "Echo: hi"}]
    assert tenant.key not in gateway.logs()


def test_a_spent_budget_is_resource_exhausted(gateway: GatewayProcess) -> None:
    tenant = _fresh(gateway, "gemini-spent")
    with gateway.admin() as admin:
        answer = admin.put(
            f"/keys/{tenant.key_id}/limits", json={"period": "day", "max_tokens": 40}
        )
        assert answer.status_code == 200, answer.text
    time.sleep(LIMITS_RELOAD)
    client = _client(gateway, tenant.key)
    for model in (NATIVE, "gpt-4o-mini"):
        with pytest.raises(errors.ClientError) as refused:
            client.models.generate_content(
                model=model,
                contents="one two three",
                config=types.GenerateContentConfig(max_output_tokens=100),
            )
        assert (refused.value.code, refused.value.status) == (429, "RESOURCE_EXHAUSTED")
        assert refused.value.response.headers["x-should-retry"] == "false"
        details = refused.value.details["error"]["details"]
        assert details[0]["@type"] == "type.googleapis.com/google.rpc.RetryInfo"


def test_the_models_this_key_may_use_are_listed_and_got_in_geminis_shape(
    gateway: GatewayProcess, tenant: Tenant
) -> None:
    client = _client(gateway, tenant.key)
    openai_listing = httpx.get(
        f"{gateway.base_url}/v1/models",
        headers={"Authorization": f"Bearer {tenant.key}"},
        timeout=30,
    ).json()
    listed = [model.name for model in client.models.list(config={"page_size": 2})]  # paged by 2
    assert len(listed) > 2
    assert listed == [f"models/{model['id']}" for model in openai_listing["data"]]
    got = client.models.get(model=NATIVE)
    assert got.name == f"models/{NATIVE}"
    assert "generateContent" in (got.supported_actions or [])
    with pytest.raises(errors.ClientError) as unknown:
        client.models.get(model="no-such-model")
    assert (unknown.value.code, unknown.value.status) == (404, "NOT_FOUND")
    headers = {"x-goog-api-key": tenant.key}
    for params in ({"pageToken": "x"}, {"pageSize": "-1"}):
        answer = httpx.get(
            f"{gateway.base_url}/v1beta/models", params=params, headers=headers, timeout=30
        )
        assert answer.status_code == 400, answer.text
        assert _error_of(answer)["status"] == "INVALID_ARGUMENT"
    refused = httpx.get(f"{gateway.base_url}/v1beta/models", timeout=30)
    assert refused.status_code == 401
    assert _error_of(refused)["status"] == "UNAUTHENTICATED"
