"""Hostile and malformed input to the Anthropic front (`/v1/messages`, `/v1/messages/count_tokens`)
of the real gateway, for an Anthropic model (passed natively) and for translated ones: every
refusal is Anthropic's error shape, in JSON, with a request id, naming the problem, leaking no
secret and no traceback, even when a stream was asked for."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import UPSTREAM_KEY
from tests.support.gateway import GatewayProcess
from tests.support.tenants import Tenant, create_tenant

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

MSG, COUNT = "/v1/messages", "/v1/messages/count_tokens"
NATIVE, TRANSLATED = "claude-haiku-4-5", ("gpt-4o-mini", "gemini-2.5-flash")
MODELS = (NATIVE, *TRANSLATED)
HELLO = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def http(gateway: GatewayProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.base_url, timeout=10) as client:
        yield client


def auth(key: str, bearer: bool) -> dict[str, str]:
    """Both ways Anthropic clients send a key; the gateway takes either."""
    credential = {"Authorization": f"Bearer {key}"} if bearer else {"x-api-key": key}
    return {**credential, "Content-Type": "application/json", "anthropic-version": "2023-06-01"}


def assert_anthropic_error(
    answer: httpx.Response, status: int, kind: str, needle: str, *secrets: str
) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json"), answer.headers
    assert answer.headers.get("x-request-id")
    assert "Traceback" not in answer.text
    assert 'File "' not in answer.text
    body = answer.json()
    assert body["type"] == "error", body
    assert body["error"]["type"] == kind, body
    assert needle.lower() in body["error"]["message"].lower(), body
    for secret in (UPSTREAM_KEY, *secrets):
        assert secret not in answer.text


def post(
    http: httpx.Client, path: str, body: bytes | dict[str, Any], key: str, bearer: bool
) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return http.post(path, content=content, headers=auth(key, bearer))


# name → (body, status, error type, word the message must hold); the model "M" is replaced by
# the model under test. Refused by the gateway itself, before any upstream: the same for every
# model and both endpoints.
BODY_CASES: dict[str, tuple[bytes | dict[str, Any], int, str, str]] = {
    "malformed-json": (b'{"model": "M", "messages": [', 400, "invalid_request_error", "json"),
    "not-utf8": (b'{"model": "\xff\xfe", "messages": []}', 400, "invalid_request_error", "utf-8"),
    "array": (b'[{"model": "M"}]', 400, "invalid_request_error", "object"),
    "empty": (b"", 400, "invalid_request_error", "empty"),
    "missing-model": ({"messages": HELLO}, 400, "invalid_request_error", "model"),
    "empty-model": ({"model": "", "messages": HELLO}, 400, "invalid_request_error", "model"),
    "model-int": ({"model": 4, "messages": HELLO}, 400, "invalid_request_error", "model"),
    "blank-model": ({"model": "   ", "messages": HELLO}, 404, "not_found_error", "model"),
    "missing-messages": ({"model": "M"}, 400, "invalid_request_error", "messages"),
    "no-messages": ({"model": "M", "messages": []}, 400, "invalid_request_error", "messages"),
    "messages-str": ({"model": "M", "messages": "hi"}, 400, "invalid_request_error", "messages"),
    "max-tokens-str": (
        {"model": "M", "messages": HELLO, "max_tokens": "8"},
        400,
        "invalid_request_error",
        "max_tokens",
    ),
    "stream-str": (
        {"model": "M", "messages": HELLO, "stream": "yes"},
        400,
        "invalid_request_error",
        "stream",
    ),
    "unknown-model": (
        {"model": "no-such-model", "messages": HELLO},
        404,
        "not_found_error",
        "no-such-model",
    ),
}


@pytest.mark.parametrize("path", [MSG, COUNT])
@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("case", BODY_CASES, ids=str)
def test_bad_bodies_are_refused_in_anthropic_shape(
    http: httpx.Client, tenant: Tenant, path: str, model: str, case: str
) -> None:
    body, status, kind, needle = BODY_CASES[case]
    if isinstance(body, bytes):
        body = body.replace(b'"M"', json.dumps(model).encode())
    elif body.get("model") == "M":
        body = {**body, "model": model}
    answer = post(http, path, body, tenant.key, bearer=len(case) % 2 == 0)
    assert_anthropic_error(answer, status, kind, needle, tenant.key)


def user(*blocks: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": list(blocks)}]


BMP = {"type": "base64", "media_type": "image/bmp", "data": "Qk0="}
DOC = {"type": "text", "media_type": "text/plain", "data": "x"}
# name → (messages, word the message must hold), refused by whatever checks the content: the
# Anthropic upstream natively, the gateway's translation (or the translated upstream) otherwise.
CONTENT_CASES: dict[str, tuple[list[dict[str, Any]], str]] = {
    "system-role": ([{"role": "system", "content": "be terse"}, *HELLO], "role"),
    "document": (user({"type": "document", "source": DOC}), "document"),
    "image-bmp": (user({"type": "image", "source": BMP}), "media_type"),
    "wrong-block-type": (user({"type": 7}), "type"),
    "role-int": ([{"role": 1, "content": "hi"}], "role"),
    "content-int": ([{"role": "user", "content": 5}], "content"),
}


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("case", CONTENT_CASES, ids=str)
def test_bad_content_is_a_400_naming_the_problem(
    http: httpx.Client, tenant: Tenant, model: str, case: str
) -> None:
    messages, needle = CONTENT_CASES[case]
    body = {"model": model, "max_tokens": 16, "messages": messages}
    answer = post(http, MSG, body, tenant.key, bearer=model != NATIVE)
    assert_anthropic_error(answer, 400, "invalid_request_error", needle, tenant.key)
    if model == NATIVE:  # the upstream's token counter validates the same way
        counted = {"model": model, "messages": messages}
        answer = post(http, COUNT, counted, tenant.key, bearer=True)
        assert_anthropic_error(answer, 400, "invalid_request_error", needle, tenant.key)


def test_translated_document_names_the_param(http: httpx.Client, tenant: Tenant) -> None:
    messages = [*HELLO, {"role": "assistant", "content": "ok"}, *CONTENT_CASES["document"][0]]
    for model in TRANSLATED:
        body = {"model": model, "max_tokens": 16, "messages": messages}
        answer = post(http, MSG, body, tenant.key, bearer=False)
        needle = "messages[2].content[0].type"
        assert_anthropic_error(answer, 400, "invalid_request_error", needle, tenant.key)


@pytest.mark.parametrize("model", MODELS)
def test_missing_max_tokens_is_a_400(http: httpx.Client, tenant: Tenant, model: str) -> None:
    answer = post(http, MSG, {"model": model, "messages": HELLO}, tenant.key, bearer=True)
    assert_anthropic_error(answer, 400, "invalid_request_error", "max_tokens", tenant.key)


@pytest.mark.parametrize("model", [NATIVE, "gemini-2.5-flash"])
def test_tool_result_for_an_unknown_tool_use_is_a_400(
    http: httpx.Client, tenant: Tenant, model: str
) -> None:
    """(The fake OpenAI upstream, unlike the real one, accepts an orphan tool message, and the
    translation leaves that check to the upstream: so no gpt-4o-mini here.)"""
    result = {"type": "tool_result", "tool_use_id": "toolu_nope", "content": "42"}
    body = {"model": model, "max_tokens": 16, "messages": user(result)}
    answer = post(http, MSG, body, tenant.key, bearer=False)
    assert_anthropic_error(answer, 400, "invalid_request_error", "tool", tenant.key)


def test_a_10_mb_body_is_413_request_too_large(http: httpx.Client, tenant: Tenant) -> None:
    text = b"a" * (10 * 1024 * 1024)
    for i, model in enumerate(MODELS):
        huge = b'{"model": "%s", "max_tokens": 8, "messages": [{"role": "user", "content": "%s"}]}'
        for path in (MSG, COUNT):
            answer = post(http, path, huge % (model.encode(), text), tenant.key, bearer=i % 2 == 0)
            assert_anthropic_error(answer, 413, "request_too_large", "too large", tenant.key)


BAD_CREDENTIALS: dict[str, dict[str, str]] = {
    "none": {},
    "bearer-empty": {"Authorization": "Bearer"},
    "unknown-bearer": {"Authorization": "Bearer fr-" + "z" * 43},
    "unknown-x-api-key": {"x-api-key": "fr-" + "q" * 43},
    "anthropic-style": {"x-api-key": "sk-ant-api03-" + "k" * 40},
}


@pytest.mark.parametrize("headers", BAD_CREDENTIALS.values(), ids=BAD_CREDENTIALS.keys())
def test_bad_credentials_are_401(http: httpx.Client, headers: dict[str, str]) -> None:
    secrets = [value.split(" ", 1)[-1] for value in headers.values() if len(value) > 12]
    for model in MODELS:
        for path in (MSG, COUNT):
            body = {"model": model, "max_tokens": 8, "messages": HELLO}
            answer = http.post(path, json=body, headers=headers)
            assert_anthropic_error(answer, 401, "authentication_error", "key", *secrets)


def test_revoked_key_is_401(http: httpx.Client, gateway: GatewayProcess) -> None:
    with gateway.admin() as admin:
        doomed = create_tenant(admin, "messages-hostile-revoked")
        assert post(http, COUNT, {"model": "gpt-4o-mini", "messages": HELLO}, doomed.key, True)
        assert admin.delete(f"/keys/{doomed.key_id}").status_code == 200
    for i, model in enumerate(MODELS):
        body = {"model": model, "max_tokens": 8, "messages": HELLO}
        answer = post(http, MSG, body, doomed.key, bearer=i % 2 == 0)
        assert_anthropic_error(answer, 401, "authentication_error", "key", doomed.key)


def test_a_model_outside_the_keys_allow_list_is_403(
    http: httpx.Client, gateway: GatewayProcess
) -> None:
    with gateway.admin() as admin:
        narrow = create_tenant(admin, "messages-hostile-narrow", models=["gpt-4o"])
    for i, model in enumerate(MODELS):
        for path in (MSG, COUNT):
            body = {"model": model, "max_tokens": 8, "messages": HELLO}
            answer = post(http, path, body, narrow.key, bearer=i % 2 == 1)
            assert_anthropic_error(answer, 403, "permission_error", model, narrow.key)


@pytest.mark.parametrize(
    ("model", "status", "kind"),
    [("claude-overloaded", 529, "overloaded_error"), ("fake-error-500", 502, "api_error")],
)
def test_a_stream_failing_before_its_first_byte_answers_an_error_body_not_sse(
    http: httpx.Client, tenant: Tenant, model: str, status: int, kind: str
) -> None:
    body = {"model": model, "max_tokens": 8, "messages": HELLO, "stream": True}
    answer = post(http, MSG, body, tenant.key, bearer=status == 529)
    assert "event:" not in answer.text
    assert_anthropic_error(answer, status, kind, "upstream", tenant.key)
