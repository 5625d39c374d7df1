"""Routing that keeps answering, through the running gateway on both shapes, against fake
upstreams with faults switched on and off while they run (`tests.fakes.faults`): two deployments
of one model and a cross-provider fallback (OpenAI → Anthropic), an upstream that fails every
request, every other one, answers 429 with `Retry-After`, hangs, stalls before its first byte,
cuts a stream or stalls in its middle; all of them at once, under a concurrent load; a pool of
three keys with their own `rpm`. Every request that should succeed does, within the deadline;
the circuit opens and closes, the answers (errors and WebSocket frames too) say who served them
or which attempts failed, and the usage and audit rows equal the attempts the fakes saw, each
failed one audited as what it was."""

from __future__ import annotations

import asyncio
import functools
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.faults import FAIL_HALF, Faults
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.gateway import GatewayProcess, own_gateway
from tests.support.tenants import Tenant, create_tenant, eventually
from tests.support.ws import chat_socket, chat_start

COOLDOWN = 2.0  # seconds a circuit stays open
POOL_RPM = 40
FIRST_BYTE = 0.6  # the chaos providers' first-byte timeout
STREAM_IDLE = 0.3
RETRIES = 2
BACKOFF_MAX = 0.05
DEADLINE = 10
FALLBACK_ANSWERS = 1.5  # generous: the fallback is a fake on loopback
RECORDED = {500: 502, 503: 503, 429: 429}
"""The status an attempt is recorded with when the upstream answers it with a status."""


@pytest.fixture(scope="module")
def chaos() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(slow_seconds=8.0, faults=Faults()) as fake:
        yield fake


@pytest.fixture(scope="module")
def pool() -> Iterator[FakeOpenAI]:
    """Enforces 40 requests a minute per key, as a provider does."""
    with FakeOpenAI(faults=Faults(rpm_per_key=POOL_RPM)) as fake:
        yield fake


@pytest.fixture(scope="module")
def claude() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        yield fake


def pool_key(letter: str, shape: str) -> str:
    """A key of the pool: one per shape, whose minute the other shape's run does not spend."""
    return f"sk-pool-{letter * 6}-{shape}"


def routing_config(
    database_url: str, redis_url: str | None, chaos: str, pool: str, claude: str, *, shape: str
) -> dict[str, Any]:
    timeouts = {"connect": 1, "first_byte": FIRST_BYTE, "total": 5, "stream_idle": STREAM_IDLE}
    price = {"input_per_mtok": 1, "output_per_mtok": 2}
    return {
        "database": {"url": database_url},
        "redis": {"url": redis_url},
        "logging": {"level": "info", "format": "json"},
        "routing": {
            "retries": RETRIES,
            "backoff_base_seconds": 0.01,
            "backoff_max_seconds": BACKOFF_MAX,
            "retry_after_max_seconds": 2,
            "deadline_seconds": DEADLINE,
            "fallbacks": {
                "duo": ["claude-fallback"],
                "halves": ["claude-fallback"],
                "hangs": ["claude-fallback"],
                "stalls": ["claude-fallback"],
                "doomed": ["claude-doomed"],
            },
            "circuit_breaker": {
                "consecutive_failures": 3,
                "cooldown_seconds": COOLDOWN,
                "min_requests": 1000,
            },
        },
        "providers": [
            {
                "name": "chaos-a",
                "kind": "openai",
                "base_url": chaos,
                "api_key": "sk-chaos-aaaaaa",
                "timeouts": timeouts,
                "models": [
                    # chosen first almost always: what happens to it is what the tests read
                    {"name": "duo", "upstream": "duo-a", "price": price, "weight": 1000},
                    {"name": "halves", "upstream": FAIL_HALF, "price": price},
                    {"name": "limited", "upstream": "limited-a", "price": price, "weight": 1000},
                    {"name": "hangs", "upstream": "fake-slow", "price": price},
                    {"name": "stalls", "upstream": "fake-stall-first", "price": price},
                    {"name": "cuts", "upstream": "fake-cut-stream", "price": price},
                    {"name": "idles", "upstream": "fake-stall-midway", "price": price},
                    {"name": "doomed", "upstream": "doomed-a", "price": price},
                ],
            },
            {
                "name": "chaos-b",
                "kind": "openai",
                "base_url": chaos,
                "api_key": "sk-chaos-bbbbbb",
                "timeouts": timeouts,
                "models": [
                    {"name": "duo", "upstream": "duo-b", "price": price},
                    {"name": "limited", "upstream": "limited-b", "price": price},
                    {"name": "doomed", "upstream": "doomed-b", "price": price},
                ],
            },
            {
                "name": "claude",
                "kind": "anthropic",
                "base_url": claude,
                "api_key": "sk-ant-fallback",
                "models": [
                    {"name": "claude-fallback", "upstream": "claude-sonnet-4-5", "price": price},
                    {"name": "claude-doomed", "upstream": "fake-error-500", "price": price},
                ],
            },
            *(
                {
                    "name": f"pool-{letter}",
                    "kind": "openai",
                    "base_url": pool,
                    "api_key": pool_key(letter, shape),
                    "models": [{"name": "pooled", "upstream": "gpt-4o-mini", "rpm": POOL_RPM}],
                }
                for letter in "abc"
            ),
        ],
    }


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.redis])],
)
def gateway(
    request: pytest.FixtureRequest,
    chaos: FakeOpenAI,
    pool: FakeOpenAI,
    claude: FakeAnthropic,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[GatewayProcess]:
    for fake in (chaos, pool, claude):
        fake.clear()  # each shape's usage rows are compared with what the fakes saw since
    assert chaos.faults is not None
    chaos.faults.forget_failures()
    with own_gateway(
        request.param,
        tmp_path_factory.mktemp(f"gateway-routing-{request.param}"),
        functools.partial(
            routing_config,
            chaos=chaos.base_url,
            pool=pool.base_url,
            claude=claude.base_url,
            shape=request.param,
        ),
    ) as process:
        yield process


@pytest.fixture(scope="module")
def tenant(gateway: GatewayProcess) -> Tenant:
    with gateway.admin() as admin:
        return create_tenant(admin, f"routing-{secrets.token_hex(3)}")


def ask(
    gateway: GatewayProcess, tenant: Tenant, model: str, *, stream: bool = False
) -> httpx.Response:
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": "hi there"}]}
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return httpx.post(
        f"{gateway.base_url}/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {tenant.key}"},
        timeout=30,
    )


def seen(fake: FakeOpenAI | FakeAnthropic, upstream: str) -> int:
    """Requests the fake got for `upstream` (its model name)."""
    return sum(
        1
        for request in fake.requests
        if isinstance(request.json, dict) and request.json.get("model") == upstream
    )


def usage_requests(gateway: GatewayProcess) -> dict[str, int]:
    with gateway.admin() as admin:
        answer = admin.get("/usage", params={"group_by": "model"})
    assert answer.status_code == 200, answer.text
    return {row["model"]: row["requests"] for row in answer.json()["rows"]}


def audited_calls(gateway: GatewayProcess) -> list[dict[str, Any]]:
    """Every `chat.completion` audit row (one per attempt), oldest first."""
    rows: list[dict[str, Any]] = []
    after: int | None = 0
    with gateway.admin() as admin:
        while after is not None:
            answer = admin.get(
                "/audit", params={"action": "chat.completion", "after_seq": after, "limit": 1000}
            )
            assert answer.status_code == 200, answer.text
            rows += answer.json()["rows"]
            after = answer.json()["next_after_seq"]
    return rows


def audited(gateway: GatewayProcess) -> dict[str, list[dict[str, Any]]]:
    """The data of the `chat.completion` audit rows, by model."""
    by_model: dict[str, list[dict[str, Any]]] = {}
    for row in audited_calls(gateway):
        by_model.setdefault(row["target"].split("/", 1)[1], []).append(row["data"])
    return by_model


def failures(chaos: FakeOpenAI, *upstreams: str) -> Counter[int]:
    """The attempts the fake failed for `upstreams` with a fault switched on (or `FAIL_HALF`'s),
    by the status the gateway records them with."""
    assert chaos.faults is not None
    found: Counter[int] = Counter()
    for (upstream, status), count in chaos.faults.failed.items():
        if upstream in upstreams:
            found[RECORDED[status]] += count
    return found


def rows_equal(
    gateway: GatewayProcess,
    expected: dict[str, int],
    failed: dict[str, Counter[int]] | None = None,
) -> None:
    """The usage rows and the audit rows of each model come to `expected` (the attempts the
    fakes saw); each audit row says how it was routed, and a failed attempt's says what it was:
    its status and the outcome `error` (`failed`: how many of each status, by model)."""

    def written() -> bool:
        found, rows = usage_requests(gateway), audited(gateway)
        return all(
            found.get(model, 0) == count and len(rows.get(model, ())) == count
            for model, count in expected.items()
        )

    eventually(written, timeout=20)
    found, rows = usage_requests(gateway), audited(gateway)
    assert {model: found.get(model, 0) for model in expected} == expected
    assert {model: len(rows.get(model, ())) for model in expected} == expected
    for model in expected:
        for data in rows.get(model, ()):
            assert data["route"], data  # which attempt it was
            if data["status"] >= 400:
                assert data["outcome"] == "error", data
    for model, statuses in (failed or {}).items():
        seen_failing = Counter(data["status"] for data in rows[model] if data["status"] >= 400)
        assert seen_failing == statuses, model


def health(gateway: GatewayProcess) -> dict[str, dict[str, Any]]:
    with gateway.admin() as admin:
        answer = admin.get("/providers/health")
    assert answer.status_code == 200, answer.text
    return {f"{row['provider']}/{row['model']}": row for row in answer.json()}


def test_a_failing_deployment_opens_its_circuit_and_the_other_answers_then_it_closes(
    gateway: GatewayProcess, tenant: Tenant, chaos: FakeOpenAI, claude: FakeAnthropic
) -> None:
    faults = chaos.faults
    assert faults is not None
    faults.fail("duo-a", 500)
    try:
        answers = [ask(gateway, tenant, "duo") for _ in range(12)]
        assert [answer.status_code for answer in answers] == [200] * 12
        assert {answer.headers["x-fluxrouter-provider"] for answer in answers} == {"chaos-b"}
        assert all(answer.headers["x-fluxrouter-model"] == "duo" for answer in answers)
        retried = [
            a.headers["x-fluxrouter-route"]
            for a in answers
            if "after" in a.headers["x-fluxrouter-route"]
        ]
        assert retried
        assert all("chaos-a/duo 502" in route for route in retried)
        state = health(gateway)["chaos-a/duo"]
        # open, or half-open on a slow machine: its cooldown may have passed since it opened
        assert state["circuit"] in ("open", "half_open")
        assert state["times_opened"] >= 1
        failed_at_a = seen(chaos, "duo-a")
        # three failures opened it; then only a probe each cooldown (the weight alone would
        # have sent it all twelve)
        assert 3 <= failed_at_a <= 6
        metrics = httpx.get(f"{gateway.base_url}/metrics").text
        shown = {
            f'fluxrouter_deployment_circuit{{model="duo",provider="chaos-a",state="{name}"}} 1.0'
            in metrics
            for name in ("open", "half_open")
        }
        assert True in shown
    finally:
        faults.heal("duo-a")
    time.sleep(COOLDOWN + 0.1)
    # half-open: one probe; its success closes the circuit, and chaos-a serves again
    served = Counter(
        ask(gateway, tenant, "duo").headers["x-fluxrouter-provider"] for _ in range(20)
    )
    assert served["chaos-a"] > 0
    assert health(gateway)["chaos-a/duo"]["circuit"] == "closed"
    rows_equal(
        gateway,
        {"duo": seen(chaos, "duo-a") + seen(chaos, "duo-b")},
        {"duo": failures(chaos, "duo-a", "duo-b")},
    )


def test_when_every_deployment_fails_the_fallback_on_another_provider_answers(
    gateway: GatewayProcess, tenant: Tenant, chaos: FakeOpenAI, claude: FakeAnthropic
) -> None:
    faults = chaos.faults
    assert faults is not None
    before = seen(claude, "claude-sonnet-4-5")
    faults.fail("duo-a", 503)
    faults.fail("duo-b", 500)
    try:
        plain = ask(gateway, tenant, "duo")
        streamed = ask(gateway, tenant, "duo", stream=True)
    finally:
        faults.heal("duo-a")
        faults.heal("duo-b")
    for answer in (plain, streamed):
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-fluxrouter-provider"] == "claude"
        assert answer.headers["x-fluxrouter-model"] == "claude-fallback"
        assert "fallback from duo" in answer.headers["x-fluxrouter-route"]
    assert plain.json()["choices"][0]["message"]["content"]
    assert streamed.text.rstrip().endswith("data: [DONE]")
    assert seen(claude, "claude-sonnet-4-5") == before + 2
    rows_equal(
        gateway,
        {
            "duo": seen(chaos, "duo-a") + seen(chaos, "duo-b"),
            "claude-fallback": seen(claude, "claude-sonnet-4-5"),
        },
        {"duo": failures(chaos, "duo-a", "duo-b"), "claude-fallback": Counter()},
    )


def test_an_upstream_failing_every_other_request_never_fails_the_caller(
    gateway: GatewayProcess, tenant: Tenant, chaos: FakeOpenAI
) -> None:
    before = seen(chaos, FAIL_HALF)
    answers = [ask(gateway, tenant, "halves", stream=index % 2 == 1) for index in range(10)]
    assert [answer.status_code for answer in answers] == [200] * 10
    assert seen(chaos, FAIL_HALF) - before in (19, 20, 21)  # each failure was retried once
    rows_equal(gateway, {"halves": seen(chaos, FAIL_HALF)}, {"halves": failures(chaos, FAIL_HALF)})


def test_a_429_with_retry_after_moves_to_the_other_deployment_until_it_has_cooled(
    gateway: GatewayProcess, tenant: Tenant, chaos: FakeOpenAI
) -> None:
    faults = chaos.faults
    assert faults is not None
    faults.fail("limited-a", 429, retry_after=1)
    try:
        answers = [ask(gateway, tenant, "limited") for _ in range(8)]
    finally:
        faults.heal("limited-a")
    assert [answer.status_code for answer in answers] == [200] * 8
    assert {answer.headers["x-fluxrouter-provider"] for answer in answers} == {"chaos-b"}
    assert seen(chaos, "limited-a") == 1  # cooling for its Retry-After: not asked again
    rows_equal(
        gateway,
        {"limited": seen(chaos, "limited-a") + seen(chaos, "limited-b")},
        {"limited": failures(chaos, "limited-a", "limited-b")},
    )


def test_a_hanging_upstream_and_one_stalling_before_its_first_byte_fall_back(
    gateway: GatewayProcess, tenant: Tenant, chaos: FakeOpenAI, claude: FakeAnthropic
) -> None:
    started = time.monotonic()
    hung = ask(gateway, tenant, "hangs")
    stalled = ask(gateway, tenant, "stalls", stream=True)
    took = time.monotonic() - started
    for answer in (hung, stalled):
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-fluxrouter-provider"] == "claude"
        assert "504" in answer.headers["x-fluxrouter-route"]
    assert stalled.text.rstrip().endswith("data: [DONE]")
    # three attempts of FIRST_BYTE each, then the fallback: bounded, whatever the upstream does
    assert took < 2 * (3 * FIRST_BYTE + 1.5)
    rows_equal(
        gateway,
        {
            "hangs": seen(chaos, "fake-slow"),
            "stalls": seen(chaos, "fake-stall-first"),
            "claude-fallback": seen(claude, "claude-sonnet-4-5"),
        },
        {
            "hangs": Counter({504: seen(chaos, "fake-slow")}),  # each timed out
            "stalls": Counter({504: seen(chaos, "fake-stall-first")}),
        },
    )


def test_a_stream_cut_after_its_first_byte_is_not_retried(
    gateway: GatewayProcess, tenant: Tenant, chaos: FakeOpenAI
) -> None:
    before = seen(chaos, "fake-cut-stream")
    answer = ask(gateway, tenant, "cuts", stream=True)
    assert answer.status_code == 200
    assert "data: [DONE]" not in answer.text  # the client sees it end short
    assert seen(chaos, "fake-cut-stream") == before + 1
    rows_equal(gateway, {"cuts": seen(chaos, "fake-cut-stream")})
    # the client had its 200 and the start of the answer: the attempt is audited as failed
    assert {data["outcome"] for data in audited(gateway)["cuts"]} == {"error"}


def test_a_stream_that_goes_quiet_is_ended_cleanly_and_billed_for_what_it_produced(
    gateway: GatewayProcess, tenant: Tenant, chaos: FakeOpenAI
) -> None:
    started = time.monotonic()
    answer = ask(gateway, tenant, "idles", stream=True)
    took = time.monotonic() - started
    assert answer.status_code == 200
    assert took < 5.0  # the fake stalls 8 s after two words; the idle timeout is 0.3 s
    events = [line[6:] for line in answer.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    assert '"finish_reason":"length"' in answer.text.replace(" ", "")
    with gateway.admin() as admin:

        def billed() -> list[dict[str, Any]]:
            rows = admin.get("/usage", params={"group_by": "model"}).json()["rows"]
            return [row for row in rows if row["model"] == "idles" and row["output_tokens"] > 0]

        (row,) = eventually(billed)
    assert row["requests"] == seen(chaos, "fake-stall-midway")
    assert row["output_tokens"] == 2  # "Echo: hi", at 4 characters a token
    # audited as what it was: ended for lack of a word (504), and charged what it produced
    rows_equal(gateway, {"idles": seen(chaos, "fake-stall-midway")})
    for data in audited(gateway)["idles"]:
        assert (data["status"], data["outcome"]) == (504, "error")
        assert data["output_tokens"] == 2
        assert Decimal(data["cost_usd"]) > 0


def test_under_a_mixed_load_with_faults_every_request_answers_within_the_deadline(
    gateway: GatewayProcess, tenant: Tenant, chaos: FakeOpenAI, claude: FakeAnthropic
) -> None:
    """Plain and streamed requests from several clients at once, while one upstream fails every
    other request, one hangs (its fallback answers) and one answers 429 with `Retry-After` (the
    other deployment answers): every one succeeds, and none takes longer than its attempts'
    first-byte timeouts, backoffs and a fallback's answer allow, well within the deadline."""
    faults = chaos.faults
    assert faults is not None
    models = ("halves", "hangs", "limited", "duo")
    kinds = [(model, stream) for model in models for stream in (0, 1)]
    load = [kinds[index % len(kinds)] for index in range(72)]

    def timed(job: tuple[str, int]) -> tuple[httpx.Response, float, bool]:
        started = time.monotonic()
        answer = ask(gateway, tenant, job[0], stream=bool(job[1]))
        return answer, time.monotonic() - started, bool(job[1])

    faults.fail("limited-a", 429, retry_after=1)
    try:
        with ThreadPoolExecutor(6) as clients:
            done = list(clients.map(timed, load))
    finally:
        faults.heal("limited-a")
    for answer, _, stream in done:
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-fluxrouter-route"]
        if stream:
            assert answer.text.rstrip().endswith("data: [DONE]")
        else:
            assert answer.json()["choices"][0]["message"]["content"]
    took = sorted(seconds for _, seconds, _ in done)
    p50, p99 = took[len(took) // 2], took[int(0.99 * (len(took) - 1))]
    # a correctness bound, not a speed: each attempt within its first-byte timeout, the
    # backoffs, then a fallback's answer; twice that for a busy machine, within the deadline
    bound = 2 * ((RETRIES + 1) * FIRST_BYTE + RETRIES * BACKOFF_MAX + FALLBACK_ANSWERS)
    assert bound < DEADLINE
    assert took[-1] < bound, f"p50 {p50:.3f} s, p99 {p99:.3f} s, max {took[-1]:.3f} s"
    rows_equal(
        gateway,
        {
            "halves": seen(chaos, FAIL_HALF),
            "hangs": seen(chaos, "fake-slow"),
            "limited": seen(chaos, "limited-a") + seen(chaos, "limited-b"),
            "duo": seen(chaos, "duo-a") + seen(chaos, "duo-b"),
            "claude-fallback": seen(claude, "claude-sonnet-4-5"),
        },
        {
            "halves": failures(chaos, FAIL_HALF),
            "hangs": Counter({504: seen(chaos, "fake-slow")}),
            "limited": failures(chaos, "limited-a", "limited-b"),
            "duo": failures(chaos, "duo-a", "duo-b"),
            "claude-fallback": Counter(),
        },
    )


def ask_in(gateway: GatewayProcess, tenant: Tenant, front: str, model: str) -> httpx.Response:
    """One request to `model` on a front door: `chat`, `messages` or `responses`."""
    text = "hi there"
    if front == "messages":
        path, body = "/v1/messages", {"model": model, "max_tokens": 64}
        body["messages"] = [{"role": "user", "content": text}]
        headers = {"x-api-key": tenant.key, "anthropic-version": "2023-06-01"}
    else:
        headers = {"Authorization": f"Bearer {tenant.key}"}
        if front == "responses":
            path, body = "/v1/responses", {"model": model, "input": text}
        else:
            path, body = "/v1/chat/completions", {"model": model}
            body["messages"] = [{"role": "user", "content": text}]
    return httpx.post(f"{gateway.base_url}{path}", json=body, headers=headers, timeout=30)


def test_when_every_deployment_and_fallback_fails_the_error_says_which_attempts_failed(
    gateway: GatewayProcess, tenant: Tenant, chaos: FakeOpenAI, claude: FakeAnthropic
) -> None:
    """Both deployments and the cross-provider fallback fail: the error answer, on each front
    door, names the last deployment tried and every attempt; once their circuits are all open,
    the 503 says no deployment was available."""
    faults = chaos.faults
    assert faults is not None
    faults.fail("doomed-a", 500)
    faults.fail("doomed-b", 500)
    try:
        answers = {}
        for front in ("chat", "messages", "responses"):
            if answers:  # the circuits the last one opened are half-open again
                time.sleep(COOLDOWN + 0.1)
            answers[front] = ask_in(gateway, tenant, front, "doomed")
        refused = ask_in(gateway, tenant, "chat", "doomed")  # every circuit open
    finally:
        faults.heal("doomed-a")
        faults.heal("doomed-b")
    for front, answer in answers.items():
        assert answer.status_code == 502, (front, answer.text)
        assert answer.headers["x-fluxrouter-provider"] == "claude", front
        assert answer.headers["x-fluxrouter-model"] == "claude-doomed", front
        route = answer.headers["x-fluxrouter-route"]
        assert route.startswith("no answer; after "), route
        assert route.endswith("claude/claude-doomed 502; fallback from doomed"), route
        assert "chaos-a/doomed 502" in route, route
        assert "chaos-b/doomed 502" in route, route
    assert answers["messages"].json()["type"] == "error"  # each in its own shape
    assert refused.status_code == 503, refused.text
    assert "retry-after" in refused.headers
    assert refused.headers["x-fluxrouter-route"] == (
        "no answer; no deployment of doomed available, nor of claude-doomed"
    )
    assert "x-fluxrouter-provider" not in refused.headers  # nothing was called
    upstreams = ("doomed-a", "doomed-b")
    rows_equal(
        gateway,
        {"doomed": sum(seen(chaos, name) for name in upstreams)},
        {"doomed": failures(chaos, *upstreams)},
    )
    rows_equal(
        gateway,
        {"claude-doomed": seen(claude, "fake-error-500")},
        {"claude-doomed": Counter({502: seen(claude, "fake-error-500")})},
    )


def test_a_websocket_generation_says_how_it_was_routed_when_done_and_when_it_failed(
    gateway: GatewayProcess, tenant: Tenant, chaos: FakeOpenAI
) -> None:
    faults = chaos.faults
    assert faults is not None

    async def generations() -> tuple[dict[str, Any], dict[str, Any]]:
        async with chat_socket(gateway.base_url, tenant.key) as socket:
            await socket.send(chat_start("served", "hi there", model="limited"))
            served = await socket.until_end_of("served")
            await asyncio.sleep(COOLDOWN + 0.1)  # the doomed circuits are half-open again
            await socket.send(chat_start("failed", "hi there", model="doomed"))
            return served, await socket.until_end_of("failed")

    faults.fail("limited-a", 429, retry_after=1)
    faults.fail("doomed-a", 500)
    faults.fail("doomed-b", 500)
    try:
        served, failed = asyncio.run(generations())
    finally:
        for name in ("limited-a", "doomed-a", "doomed-b"):
            faults.heal(name)
    assert served["type"] == "chat.done", served
    assert served["routing"]["x-fluxrouter-provider"] == "chaos-b"
    assert served["routing"]["x-fluxrouter-model"] == "limited"
    assert served["routing"]["x-fluxrouter-route"].startswith("weighted chaos-b/limited")
    assert (failed["type"], failed["status"]) == ("error", 502), failed
    assert failed["routing"]["x-fluxrouter-model"] == "claude-doomed"
    assert failed["routing"]["x-fluxrouter-route"].startswith("no answer; after ")


def test_a_circuit_one_replica_opens_is_open_at_the_other(
    gateway: GatewayProcess,
    tenant: Tenant,
    chaos: FakeOpenAI,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    if gateway.shape != "postgres":
        pytest.skip("replicas share their routing state through Redis: the PostgreSQL shape")
    faults = chaos.faults
    assert faults is not None
    config = yaml.safe_load(Path(gateway.env["FLUXROUTER_CONFIG"]).read_text())
    config.setdefault("audit", {})["signing_key_file"] = str(
        gateway.workdir / "fluxrouter-audit-signing.key"
    )
    second = GatewayProcess(
        tmp_path_factory.mktemp("gateway-routing-replica"), config, admin_key=gateway.admin_key
    )
    second.env["FLUXROUTER_REDIS_NAMESPACE"] = gateway.env["FLUXROUTER_REDIS_NAMESPACE"]
    second.start()
    try:
        time.sleep(COOLDOWN)  # whatever earlier tests left open here has closed
        faults.fail("duo-a", 500)
        try:
            answers = [ask(gateway, tenant, "duo") for _ in range(4)]
            assert [answer.status_code for answer in answers] == [200] * 4
            assert health(gateway)["chaos-a/duo"]["circuit"] == "open"

            def open_there() -> dict[str, Any] | None:
                row = health(second)["chaos-a/duo"]
                return row if row["circuit"] == "open" else None

            row = eventually(open_there, timeout=COOLDOWN * 0.75, every=0.05)
            assert row["successes"] == row["failures"] == 0  # it never called it itself
            answer = ask(second, tenant, "duo")
            assert answer.status_code == 200
            assert answer.headers["x-fluxrouter-route"] == "weighted chaos-b/duo"
        finally:
            faults.heal("duo-a")
    finally:
        second.stop()
    # both replicas' attempts, each recorded and audited once
    rows_equal(
        gateway,
        {"duo": seen(chaos, "duo-a") + seen(chaos, "duo-b")},
        {"duo": failures(chaos, "duo-a", "duo-b")},
    )


def test_a_pool_of_three_keys_takes_three_times_one_keys_rpm_without_a_429(
    gateway: GatewayProcess, tenant: Tenant, pool: FakeOpenAI
) -> None:
    faults = pool.faults
    assert faults is not None
    keys = [pool_key(letter, gateway.shape) for letter in "abc"]
    with ThreadPoolExecutor(8) as workers:
        answers = list(workers.map(lambda _: ask(gateway, tenant, "pooled"), range(3 * POOL_RPM)))
    assert [answer.status_code for answer in answers] == [200] * (3 * POOL_RPM)
    assert faults.rate_limited == 0
    assert [faults.by_key[key] for key in keys] == [POOL_RPM] * 3
    providers = Counter(answer.headers["x-fluxrouter-provider"] for answer in answers)
    assert providers == {"pool-a": POOL_RPM, "pool-b": POOL_RPM, "pool-c": POOL_RPM}
    # one more within the minute: the gateway answers 429 itself, the fake never sees it
    over = ask(gateway, tenant, "pooled")
    assert over.status_code == 429
    assert int(over.headers["retry-after"]) >= 1
    assert over.headers["x-fluxrouter-route"] == "no answer; no deployment of pooled available"
    assert faults.rate_limited == 0
