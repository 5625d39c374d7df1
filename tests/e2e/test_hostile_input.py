"""Hostile and malformed input against the real gateway process: every refusal is shaped (OpenAI
errors on /v1, RFC 9457 problems on /admin/v1), carries a request id, and writes nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.support.gateway import GatewayProcess
from tests.support.tenants import Tenant, create_tenant

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.both_shapes]

HELLO = [{"role": "user", "content": "hi"}]
CHAT = "/v1/chat/completions"
EMBED = "/v1/embeddings"


@pytest.fixture(scope="module")
def http(gateway: GatewayProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.base_url, timeout=10) as client:
        yield client


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}


TYPES = {401: "authentication_error", 404: "not_found_error"}  # else invalid_request_error


def assert_openai_error(
    answer: httpx.Response, status: int, *, code: str | None = None, param: str | None = None
) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json"), answer.headers
    assert "Traceback" not in answer.text
    assert answer.headers.get("x-request-id")
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert error["message"]
    assert error["type"] == TYPES.get(status, "invalid_request_error"), error
    assert code is None or error["code"] == code, error
    assert param is None or error["param"] == param, error


def assert_problem(answer: httpx.Response, status: int) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.headers
    assert "Traceback" not in answer.text
    assert answer.headers.get("x-request-id")
    body = answer.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= set(body), body


M = "gpt-4o-mini"
CHAT_CASES: dict[str, tuple[bytes | dict[str, Any], str, str | None]] = {
    "malformed-json": (b'{"model": "gpt-4o-mini", "messages": [', "invalid_json", None),
    "array": (b'[{"model": "gpt-4o-mini"}]', "invalid_json", None),
    "empty": (b"", "invalid_json", None),
    "not-utf8": (b'{"model": "\xff\xfe"}', "invalid_json", None),
    "missing-model": ({"messages": HELLO}, "invalid_value", "model"),
    "missing-messages": ({"model": M}, "invalid_value", "messages"),
    "missing-role": (
        {"model": M, "messages": [{"content": "x"}]},
        "invalid_value",
        "messages[0].role",
    ),
    "no-messages": ({"model": M, "messages": []}, "invalid_value", "messages"),
    "messages-str": ({"model": M, "messages": "hi"}, "invalid_value", "messages"),
    "model-int": ({"model": 5, "messages": HELLO}, "invalid_value", "model"),
    "model-empty": ({"model": "", "messages": HELLO}, "invalid_value", "model"),
    "temp-str": (
        {"model": M, "messages": HELLO, "temperature": "hot"},
        "invalid_value",
        "temperature",
    ),
    "stream-str": ({"model": M, "messages": HELLO, "stream": "yes"}, "invalid_value", "stream"),
    "bad-role": (
        {"model": M, "messages": [{"role": "wizard", "content": "x"}]},
        "invalid_value",
        "messages[0].role",
    ),
}


@pytest.mark.parametrize(("body", "code", "param"), CHAT_CASES.values(), ids=CHAT_CASES.keys())
def test_chat_refuses_malformed_bodies(
    http: httpx.Client, tenant: Tenant, body: bytes | dict[str, Any], code: str, param: str | None
) -> None:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    answer = http.post(CHAT, content=content, headers=auth(tenant.key))
    assert_openai_error(answer, 400, code=code, param=param)


EMBED_INPUTS: list[Any] = [[1, "a"], [], [[]], {"a": 1}, "", [True], None, [[1, "a"]]]


@pytest.mark.parametrize("value", EMBED_INPUTS, ids=repr)
def test_embeddings_refuse_bad_input_shapes(http: httpx.Client, tenant: Tenant, value: Any) -> None:
    body = {"model": "text-embedding-3-small", "input": value}
    answer = http.post(EMBED, json=body, headers=auth(tenant.key))
    assert_openai_error(answer, 400, code="invalid_value", param="input")


def test_oversized_body_is_413_in_openai_shape(http: httpx.Client, tenant: Tenant) -> None:
    huge = b'{"model": "gpt-4o-mini", "input": "' + b"a" * (10 * 1024 * 1024) + b'"}'
    for path in (CHAT, EMBED):
        assert_openai_error(http.post(path, content=huge, headers=auth(tenant.key)), 413)
    # sent in chunks, with no Content-Length
    for path in (CHAT, EMBED):
        chunks = (huge[i : i + (1 << 20)] for i in range(0, len(huge), 1 << 20))
        assert_openai_error(http.post(path, content=chunks, headers=auth(tenant.key)), 413)


def test_unknown_model_is_404_naming_no_secret(
    http: httpx.Client, tenant: Tenant, gateway: GatewayProcess
) -> None:
    from tests.conftest import UPSTREAM_KEY

    for path, body in (
        (CHAT, {"model": "no-such-model", "messages": HELLO}),
        (EMBED, {"model": "no-such-model", "input": "x"}),
    ):
        answer = http.post(path, json=body, headers=auth(tenant.key))
        assert_openai_error(answer, 404)
        for secret in (UPSTREAM_KEY, tenant.key, gateway.admin_key):
            assert secret not in answer.text


BAD_CREDENTIALS: dict[str, tuple[dict[str, str], str]] = {
    "none": ({}, "missing_api_key"),
    "bearer-only": ({"Authorization": "Bearer"}, "missing_api_key"),
    "token": ({"Authorization": "Token abcdefgh12345"}, "missing_api_key"),
    "basic": ({"Authorization": "Basic dXNlcjpwYXNz"}, "missing_api_key"),
    "no-scheme": ({"Authorization": "fr-" + "x" * 43}, "missing_api_key"),
    "sk": ({"Authorization": "Bearer sk-not-ours-" + "y" * 40}, "invalid_api_key"),
    "short": ({"Authorization": "Bearer fr-short"}, "invalid_api_key"),
    "unknown": ({"Authorization": "Bearer fr-" + "z" * 43}, "invalid_api_key"),
    "x-api-key": ({"x-api-key": "not a key at all"}, "invalid_api_key"),
}


@pytest.mark.parametrize(("headers", "code"), BAD_CREDENTIALS.values(), ids=BAD_CREDENTIALS.keys())
def test_bad_credentials_are_401(http: httpx.Client, headers: dict[str, str], code: str) -> None:
    for path, body in ((CHAT, {"model": M, "messages": HELLO}), (EMBED, {"input": "x"})):
        answer = http.post(path, json=body, headers=headers)
        assert_openai_error(answer, 401, code=code)
        for value in headers.values():
            token = value.split(" ", 1)[-1].strip()
            if len(token) > 8:
                assert token not in answer.text
    assert_openai_error(http.get("/v1/models", headers=headers), 401, code=code)


def test_revoked_key_is_401(http: httpx.Client, gateway: GatewayProcess) -> None:
    with gateway.admin() as admin:
        doomed = create_tenant(admin, "hostile-revoked")
        assert http.get("/v1/models", headers=auth(doomed.key)).status_code == 200
        assert admin.delete(f"/keys/{doomed.key_id}").status_code == 200
    body = {"model": "gpt-4o-mini", "messages": HELLO}
    answer = http.post(CHAT, json=body, headers=auth(doomed.key))
    assert_openai_error(answer, 401, code="invalid_api_key")
    assert doomed.key not in answer.text


def test_unknown_path_and_wrong_method_are_shaped(
    http: httpx.Client, gateway: GatewayProcess
) -> None:
    assert_openai_error(http.get("/v1/nope"), 404)
    assert_openai_error(http.post("/v1/nope", json={}), 404)
    assert_openai_error(http.get(CHAT), 405)
    assert_openai_error(http.delete(EMBED), 405)
    with gateway.admin() as admin:
        assert_problem(admin.get("/nope"), 404)
        assert_problem(admin.put("/orgs", json={"name": "x"}), 405)
        assert_problem(admin.delete("/orgs"), 405)


def test_request_id_is_echoed_when_valid_and_replaced_when_not(
    http: httpx.Client, gateway: GatewayProcess
) -> None:
    mine = "hostile-req.123:abc"
    with gateway.admin() as admin:
        answers = [
            http.post(CHAT, content=b"{", headers={"x-request-id": mine}),
            http.get("/v1/nope", headers={"x-request-id": mine}),
            admin.post("/orgs", json={}, headers={"x-request-id": mine}),
        ]
    assert [answer.headers["x-request-id"] for answer in answers] == [mine] * 3
    for bad in ("has space", "x" * 65, "semi;colon"):
        answer = http.get("/v1/nope", headers={"x-request-id": bad})
        assert answer.headers["x-request-id"] not in ("", bad)


def settled_counts(url: str) -> dict[str, int]:
    """Row counts, once background writes (completion batches) of earlier tests have landed."""
    engine = sa.create_engine(url)
    # refusals are written a second after they happen, counted together: not a change of state
    changes = "WHERE type NOT IN ('AccessRefused', 'RequestRefused')"
    query = " UNION ALL ".join(
        f"SELECT '{name}', count(*) FROM {name} {changes if name == 'outbox' else ''}"
        for name in ("orgs", "teams", "virtual_keys", "outbox")
    )
    last: dict[str, int] = {}
    try:
        with engine.connect() as conn:
            for _ in range(50):
                now = {name: count for name, count in conn.execute(sa.text(query)).all()}
                if now == last:
                    break
                last = now
                time.sleep(0.1)
    finally:
        engine.dispose()
    return last


def test_bad_admin_calls_are_problems_and_write_nothing(
    gateway: GatewayProcess, tenant: Tenant
) -> None:
    before = settled_counts(gateway.database_url)
    missing = "0" * 26
    json_ct = {"Content-Type": "application/json"}
    with gateway.admin() as admin:
        calls: list[tuple[str, str, Any, int]] = [
            *[("/orgs", "post", raw, 400) for raw in (b'{"name": ', b"", b'["x"]', b'"\xff"')],
            ("/orgs", "post", {"name": "x", "id": "chosen"}, 400),
            ("/orgs", "post", {"name": "x", "created_at": "2000-01-01"}, 400),
            ("/orgs", "post", {}, 400),
            ("/orgs", "post", {"name": ""}, 400),
            ("/orgs", "post", {"name": "   "}, 400),
            ("/orgs", "post", {"name": 5}, 400),
            ("/orgs", "post", {"name": "x" * 201}, 400),
            ("/teams", "post", {"org_id": tenant.org_id}, 400),
            ("/teams", "post", {"org_id": tenant.org_id, "name": "t", "id": "chosen"}, 400),
            ("/teams", "post", {"org_id": missing, "name": "orphan"}, 404),
            ("/keys", "post", {"team_id": missing, "name": "orphan"}, 404),
            ("/keys", "post", {"team_id": tenant.team_id, "name": "k", "secret_hash": "0"}, 400),
            ("/keys", "post", {"team_id": tenant.team_id, "name": "k", "org_id": missing}, 400),
            ("/keys", "post", {"team_id": tenant.team_id, "name": "\t\n"}, 400),
            ("/keys", "post", {"team_id": tenant.team_id, "name": "k", "models": "all"}, 400),
            (f"/keys/{missing}", "delete", None, 404),
        ]
        for path, method, body, status in calls:
            kwargs: dict[str, Any] = {}
            if isinstance(body, bytes):
                kwargs = {"content": body, "headers": json_ct}
            elif body is not None:
                kwargs = {"json": body}
            answer = admin.request(method.upper(), path, **kwargs)
            assert_problem(answer, status)
    base = f"{gateway.base_url}/admin/v1"
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": gateway.admin_key},
        {"Authorization": f"Bearer {tenant.key}"},
        {"x-api-key": gateway.admin_key},
    ):
        for method, path in (("POST", "/orgs"), ("GET", "/usage"), ("DELETE", f"/keys/{missing}")):
            answer = httpx.request(method, base + path, json={"name": "x"}, headers=headers)
            assert_problem(answer, 401)
            assert gateway.admin_key not in answer.text
    assert settled_counts(gateway.database_url) == before


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/admin/v1/orgs", "/v1/messages"])
def test_a_body_nested_too_deeply_is_a_400(gateway: GatewayProcess, path: str) -> None:
    with gateway.admin() as admin:
        tenant = create_tenant(admin, f"deep-{path.count('/')}-{path[-4:]}")
    key = gateway.admin_key if path.startswith("/admin") else tenant.key
    body = b'{"model": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    answer = httpx.post(
        f"{gateway.base_url}{path}",
        content=body,
        timeout=30,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    assert answer.status_code == 400, answer.text
    assert "nested too deeply" in answer.text
    assert "Traceback" not in answer.text
