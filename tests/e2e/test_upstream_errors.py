"""Every upstream condition, for every provider kind, reaches the caller the same way: the
official `openai` SDK on /v1 and the `anthropic` SDK on /v1/messages raise the class the one
table says, plain and streamed, through the real gateway to the fakes of each provider.

The full matrix runs on PostgreSQL + Redis (the production shape, with its worker); the
mapping does not depend on the shape, so the embedded SQLite shape gets a smoke test of the
refused credentials and of a rate limit.
"""

from __future__ import annotations

import contextlib
import functools
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import UPSTREAM_KEY
from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.gemini_upstream import FakeGemini
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.gateway import LIMITS_RELOAD, GatewayProcess, gateway_config, own_gateway
from tests.support.tenants import Tenant, create_tenant, eventually
from tests.support.ws import chat_socket, chat_start

WRONG_KEY = "sk-wrong-" + secrets.token_urlsafe(24)
HELLO: Any = [{"role": "user", "content": "one two three"}]
KINDS = ("openai", "openai-compatible", "anthropic", "gemini")

# the upstream model of each condition, by kind (the fakes' special model names)
UPSTREAM_MODELS: dict[str, dict[str, str]] = {
    "openai": {
        "ok": "gpt-4o-mini",
        "invalid": "fake-error-400",
        "missing": "fake-error-404",
        "limited": "fake-error-429",
        "broken": "fake-error-500",
        "busy": "fake-error-503",
        "slow": "fake-slow",
        "stream-error": "fake-stream-error",
    },
    "anthropic": {
        "ok": "claude-haiku-4-5",
        "invalid": "fake-error-400",
        "missing": "fake-error-404",
        "limited": "fake-rate-limited",
        "broken": "fake-error-500",
        "busy": "fake-overloaded",
        "slow": "fake-slow",
        "stream-error": "fake-stream-error",
    },
    "gemini": {
        "ok": "gemini-2.5-flash",
        "invalid": "fake-error-400",
        "missing": "fake-error-404",
        "limited": "fake-exhausted",
        "broken": "fake-error-500",
        "busy": "fake-unavailable",
        "slow": "fake-slow",
    },
}
UPSTREAM_MODELS["openai-compatible"] = UPSTREAM_MODELS["openai"]

# condition model → (status, OpenAI SDK class, code) on /v1
OPENAI_ANSWERS: dict[str, tuple[int, type[openai.APIStatusError], str]] = {
    "refused": (502, openai.InternalServerError, "upstream_credentials_refused"),
    "invalid": (400, openai.BadRequestError, "invalid_request"),
    "missing": (404, openai.NotFoundError, "model_not_found"),
    "limited": (429, openai.RateLimitError, "rate_limit_exceeded"),
    "broken": (502, openai.InternalServerError, "upstream_server_error"),
    "busy": (503, openai.InternalServerError, "upstream_overloaded"),
    "slow": (504, openai.InternalServerError, "upstream_timeout"),
}
# condition model → (status, Anthropic SDK class, Anthropic error type) on /v1/messages
ANTHROPIC_ANSWERS: dict[str, tuple[int, type[anthropic.APIStatusError], str]] = {
    "refused": (502, anthropic.InternalServerError, "api_error"),
    "invalid": (400, anthropic.BadRequestError, "invalid_request_error"),
    "missing": (404, anthropic.NotFoundError, "not_found_error"),
    "limited": (429, anthropic.RateLimitError, "rate_limit_error"),
    "broken": (502, anthropic.InternalServerError, "api_error"),
    "busy": (529, anthropic.OverloadedError, "overloaded_error"),
    "slow": (504, anthropic.GatewayTimeoutError, "timeout_error"),
}


def slug(kind: str) -> str:
    return "compat" if kind == "openai-compatible" else kind


def error_providers(urls: dict[str, str]) -> list[dict[str, Any]]:
    """For each kind: `errs-<kind>` with a model for each condition, and `refused-<kind>`,
    whose key the upstream does not take."""
    providers: list[dict[str, Any]] = []
    for kind in KINDS:
        models = UPSTREAM_MODELS[kind]
        common = {
            "kind": kind,
            "base_url": urls[kind],
            "timeouts": {"connect": 1, "first_byte": 1, "total": 5},
        }
        providers.append(
            {
                **common,
                "name": f"errs-{slug(kind)}",
                "api_key": "${TEST_UPSTREAM_KEY}",
                "models": [{"name": name, "upstream": up} for name, up in models.items()],
            }
        )
        providers.append(
            {
                **common,
                "name": f"refused-{slug(kind)}",
                "api_key": WRONG_KEY,
                "models": [{"name": "refused", "upstream": models["ok"]}],
            }
        )
    return providers


def errors_gateway_on(
    shape: str,
    workdir: Path,
    upstream: FakeOpenAI,
    anthropic_upstream: FakeAnthropic,
    gemini_upstream: FakeGemini,
) -> contextlib.AbstractContextManager[GatewayProcess]:
    """A gateway of the module's own on `shape`, with a provider of each kind for each
    condition (a new database: the session's is the shared gateway's, whose audit checkpoints
    are signed with that gateway's key)."""
    urls = {
        "openai": upstream.base_url,
        "openai-compatible": upstream.base_url,
        "anthropic": anthropic_upstream.base_url,
        "gemini": gemini_upstream.base_url,
    }
    return own_gateway(
        shape,
        workdir,
        functools.partial(
            gateway_config,
            upstream_url=upstream.base_url,
            upstream_key=UPSTREAM_KEY,
            extra_providers=error_providers(urls),
        ),
        upstream_key=UPSTREAM_KEY,
    )


@pytest.fixture(scope="module")
def errors_gateway(
    upstream: FakeOpenAI,
    anthropic_upstream: FakeAnthropic,
    gemini_upstream: FakeGemini,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[GatewayProcess]:
    with errors_gateway_on(
        "postgres",
        tmp_path_factory.mktemp("gateway-errors-pg"),
        upstream,
        anthropic_upstream,
        gemini_upstream,
    ) as process:
        yield process


@pytest.fixture(scope="module")
def tenant(errors_gateway: GatewayProcess) -> Tenant:
    with errors_gateway.admin() as admin:
        return create_tenant(admin, "upstream-errors")


def model_of(kind: str, condition: str) -> str:
    if condition == "refused":
        return f"refused-{slug(kind)}/refused"
    return f"errs-{slug(kind)}/{condition}"


def openai_client(gateway: GatewayProcess, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=key, max_retries=0)


def anthropic_client(gateway: GatewayProcess, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway.base_url, api_key=key, max_retries=0)


def ask_openai(client: openai.OpenAI, model: str, *, stream: bool, **extra: Any) -> None:
    """A chat completion, read to its end when streamed."""
    answer: Any = client.chat.completions.create(
        model=model, messages=HELLO, stream=stream, **extra
    )
    if stream:
        list(answer)


def ask_anthropic(client: anthropic.Anthropic, model: str, *, stream: bool) -> None:
    answer: Any = client.messages.create(model=model, max_tokens=16, messages=HELLO, stream=stream)
    if stream:
        list(answer)


def credentials_refused_total(gateway: GatewayProcess, provider: str) -> float:
    text = httpx.get(f"{gateway.base_url}/metrics").text
    for family in text_string_to_metric_families(text):
        if family.name == "fluxrouter_upstream_credentials_refused":
            for sample in family.samples:
                if sample.name.endswith("_total") and sample.labels == {"provider": provider}:
                    return sample.value
    return 0.0


def log_events(gateway: GatewayProcess, event: str) -> list[dict[str, Any]]:
    found = []
    for line in gateway.logs().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("event") == event:
            found.append(entry)
    return found


@pytest.mark.parametrize("condition", list(OPENAI_ANSWERS))
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_openai_sdk_raises_the_tables_error(
    errors_gateway: GatewayProcess, tenant: Tenant, kind: str, condition: str, stream: bool
) -> None:
    status, raised, code = OPENAI_ANSWERS[condition]
    client = openai_client(errors_gateway, tenant.key)
    with pytest.raises(raised) as caught:
        ask_openai(client, model_of(kind, condition), stream=stream)
    error = caught.value
    assert (error.status_code, error.code) == (status, code)
    body: Any = error.body
    assert set(body) == {"message", "type", "param", "code"}
    if condition == "limited":
        assert error.response.headers["retry-after"] == "7"
    if condition == "refused":
        assert f"credentials for provider `refused-{slug(kind)}` were refused" in error.message
        assert WRONG_KEY not in error.response.text


@pytest.mark.parametrize("condition", list(ANTHROPIC_ANSWERS))
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_anthropic_sdk_raises_the_tables_error_on_messages(
    errors_gateway: GatewayProcess, tenant: Tenant, kind: str, condition: str, stream: bool
) -> None:
    status, raised, error_type = ANTHROPIC_ANSWERS[condition]
    client = anthropic_client(errors_gateway, tenant.key)
    with pytest.raises(raised) as caught:
        ask_anthropic(client, model_of(kind, condition), stream=stream)
    error = caught.value
    assert error.status_code == status
    body: Any = error.body
    assert body["type"] == "error"
    assert body["error"]["type"] == error_type
    if condition == "limited":
        assert error.response.headers["retry-after"] == "7"
    if condition == "refused":
        assert "credentials for provider `refused-" in body["error"]["message"]


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("openai", "upstream_server_error"),  # OpenAI's `server_error` event
        ("openai-compatible", "upstream_server_error"),
        ("anthropic", "upstream_overloaded"),  # Anthropic's `overloaded_error` event
    ],
)
def test_an_error_in_the_middle_of_a_stream_takes_the_tables_code(
    errors_gateway: GatewayProcess, tenant: Tenant, kind: str, code: str
) -> None:
    client = openai_client(errors_gateway, tenant.key)
    with pytest.raises(openai.APIError) as caught:
        ask_openai(client, f"errs-{slug(kind)}/stream-error", stream=True)
    assert caught.value.code == code
    assert caught.value.type == (
        "service_unavailable" if "overloaded" in code else "upstream_error"
    )


def test_refused_credentials_are_logged_counted_released_and_recorded_as_failed(
    errors_gateway: GatewayProcess,
) -> None:
    with errors_gateway.admin() as admin:
        tenant = create_tenant(admin, "refused-budget")
        # room for one call's reservation at a time: a refused call that kept its reservation
        # would have the next call refused for its budget
        answer = admin.put(
            f"/keys/{tenant.key_id}/limits", json={"period": "day", "max_tokens": 60}
        )
        assert answer.status_code == 200, answer.text
    time.sleep(LIMITS_RELOAD)
    client = openai_client(errors_gateway, tenant.key)
    for kind in KINDS:
        provider = f"refused-{slug(kind)}"
        before = credentials_refused_total(errors_gateway, provider)
        for stream in (False, True):
            with pytest.raises(openai.InternalServerError) as caught:
                ask_openai(client, f"{provider}/refused", stream=stream, max_tokens=40)
            assert caught.value.code == "upstream_credentials_refused"
        assert credentials_refused_total(errors_gateway, provider) == before + 2
        logged = [e for e in log_events(errors_gateway, "upstream.credentials_refused")]
        assert any(e.get("provider") == provider and e.get("level") == "error" for e in logged)
    logs = errors_gateway.logs()
    assert WRONG_KEY not in logs
    assert UPSTREAM_KEY not in logs

    def audited() -> list[dict[str, Any]]:
        with errors_gateway.admin() as admin:
            params = {"actor": f"key:{tenant.key_id}", "limit": 100}
            rows = admin.get("/audit", params=params).json()["rows"]
        return rows if len(rows) >= 2 * len(KINDS) else []

    rows = eventually(audited)
    calls = [row["data"] for row in rows if row["action"] == "chat.completion"]
    assert len(calls) == 2 * len(KINDS)
    assert all(call["status"] == 502 and call["outcome"] == "error" for call in calls)
    assert all(call["input_tokens"] == call["output_tokens"] == 0 for call in calls)


@pytest.mark.parametrize("kind", KINDS)
def test_the_response_model_is_the_upstreams_never_the_prefixed_name(
    errors_gateway: GatewayProcess, tenant: Tenant, kind: str
) -> None:
    expected = UPSTREAM_MODELS[kind]["ok"]  # the fakes answer with the model they were sent
    requested = f"errs-{slug(kind)}/ok"
    client = openai_client(errors_gateway, tenant.key)
    plain = client.chat.completions.create(model=requested, messages=HELLO)
    assert plain.model == expected
    chunks = list(client.chat.completions.create(model=requested, messages=HELLO, stream=True))
    assert {chunk.model for chunk in chunks} == {expected}
    messages = anthropic_client(errors_gateway, tenant.key)
    message = messages.messages.create(model=requested, max_tokens=16, messages=HELLO)
    assert message.model == expected
    with messages.messages.stream(model=requested, max_tokens=16, messages=HELLO) as events:
        assert events.get_final_message().model == expected


@pytest.mark.parametrize("kind", KINDS)
async def test_websocket_errors_come_from_the_same_table(
    errors_gateway: GatewayProcess, tenant: Tenant, kind: str
) -> None:
    conditions = ["refused", "limited", "busy", "missing"]
    async with chat_socket(errors_gateway.base_url, tenant.key) as socket:
        for condition in conditions:
            await socket.send(chat_start(condition, "hi", model=model_of(kind, condition)))
        ends = {condition: await socket.until_end_of(condition) for condition in conditions}
    for condition, end in ends.items():
        status, _, code = OPENAI_ANSWERS[condition]
        assert end["type"] == "error", end
        assert (end["status"], end["error"]["code"]) == (status, code)
    assert ends["limited"]["retry_after"] == 7
    assert "credentials for provider" in ends["refused"]["error"]["message"]


@pytest.fixture(scope="module")
def embedded_errors_gateway(
    upstream: FakeOpenAI,
    anthropic_upstream: FakeAnthropic,
    gemini_upstream: FakeGemini,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[GatewayProcess]:
    with errors_gateway_on(
        "sqlite",
        tmp_path_factory.mktemp("gateway-errors-sqlite"),
        upstream,
        anthropic_upstream,
        gemini_upstream,
    ) as process:
        yield process


@pytest.mark.parametrize("kind", KINDS)
def test_smoke_on_the_embedded_shape(embedded_errors_gateway: GatewayProcess, kind: str) -> None:
    with embedded_errors_gateway.admin() as admin:
        tenant = create_tenant(admin, f"errors-embedded-{slug(kind)}")
    client = openai_client(embedded_errors_gateway, tenant.key)
    for condition in ("refused", "limited"):
        status, raised, code = OPENAI_ANSWERS[condition]
        with pytest.raises(raised) as caught:
            client.chat.completions.create(model=model_of(kind, condition), messages=HELLO)
        assert (caught.value.status_code, caught.value.code) == (status, code)
    provider = f"refused-{slug(kind)}"
    assert credentials_refused_total(embedded_errors_gateway, provider) >= 1
