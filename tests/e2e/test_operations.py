"""What operators see: health, readiness, metrics, the OpenAPI document, request ids in logs,
and what happens to a stream the client walks away from."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.support.gateway import GatewayProcess
from tests.support.tenants import Tenant, eventually

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def test_health_and_readiness(gateway: GatewayProcess) -> None:
    assert httpx.get(f"{gateway.base_url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{gateway.base_url}/readyz").json()
    assert ready == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}


def test_metrics_count_requests_latency_tokens_and_upstream_errors(
    gateway: GatewayProcess, tenant: Tenant
) -> None:
    auth = {"Authorization": f"Bearer {tenant.key}"}
    url = f"{gateway.base_url}/v1/chat/completions"
    body: dict[str, Any] = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "count me"}],
    }
    assert httpx.post(url, json=body, headers=auth).status_code == 200
    assert (
        httpx.post(url, json={**body, "model": "fake-error-500"}, headers=auth).status_code == 502
    )
    text = httpx.get(f"{gateway.base_url}/metrics").text
    assert (
        'fluxrouter_http_requests_total{method="POST",route="/v1/chat/completions",'
        'status="200"}' in text
    )
    assert (
        'fluxrouter_http_request_duration_seconds_bucket{le="0.1",'
        'route="/v1/chat/completions"}' in text
    )
    assert 'fluxrouter_upstream_errors_total{provider="openai",status="502"}' in text
    assert (
        'fluxrouter_tokens_total{direction="input",model="gpt-4o-mini",provider="openai"}' in text
    )


def test_metrics_show_the_accounting_backlog(gateway: GatewayProcess) -> None:
    text = httpx.get(f"{gateway.base_url}/metrics").text
    assert "fluxrouter_accounting_backlog " in text
    assert "fluxrouter_accounting_dropped 0.0" in text


def test_openapi_document_describes_the_api(gateway: GatewayProcess) -> None:
    document = httpx.get(f"{gateway.base_url}/schema/openapi.json").json()
    paths = set(document["paths"])
    assert {
        "/v1/chat/completions",
        "/v1/embeddings",
        "/v1/models",
        "/admin/v1/orgs",
        "/admin/v1/teams",
        "/admin/v1/keys",
        "/admin/v1/keys/{key_id}",
        "/admin/v1/usage",
        "/admin/v1/audit",
        "/admin/v1/audit/verify",
        "/healthz",
        "/readyz",
    } <= paths


def test_prompts_stay_out_of_the_logs(gateway: GatewayProcess, tenant: Tenant) -> None:
    marker = "confidential-merger-plan-7f3a"
    answer = httpx.post(
        f"{gateway.base_url}/v1/chat/completions",
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": marker}]},
        headers={"Authorization": f"Bearer {tenant.key}", "x-request-id": "prompt-check-1"},
    )
    assert marker in answer.text  # the upstream echoed it back to the client

    def logged() -> bool:
        return "prompt-check-1" in gateway.logs()

    eventually(logged)
    assert marker not in gateway.logs()


def test_answers_name_no_server_software(gateway: GatewayProcess) -> None:
    answer = httpx.get(f"{gateway.base_url}/healthz")
    assert answer.status_code == 200
    assert "server" not in answer.headers
    assert "date" in answer.headers


def test_log_lines_are_json_and_carry_the_request_id(gateway: GatewayProcess) -> None:
    answer = httpx.get(f"{gateway.base_url}/healthz", headers={"x-request-id": "trace-me-42"})
    assert answer.headers["x-request-id"] == "trace-me-42"

    def logged() -> list[dict[str, Any]]:
        # other lines may be caught half written by the process; ours must be whole JSON
        written = gateway.log_path.read_text()
        complete = written[: written.rfind("\n") + 1]
        ours = [line for line in complete.splitlines() if "trace-me-42" in line]
        lines = [json.loads(line) for line in ours]
        return [line for line in lines if line.get("request_id") == "trace-me-42"]

    line = eventually(logged)[0]
    assert line["path"] == "/healthz"
    assert line["status"] == 200


def test_a_stream_the_client_cuts_is_recorded_as_cancelled(
    gateway: GatewayProcess, tenant: Tenant
) -> None:
    body = {
        "model": "fake-stall-stream",
        "stream": True,
        "messages": [{"role": "user", "content": "a long answer please"}],
    }
    with (
        httpx.Client(timeout=10) as client,
        client.stream(
            "POST",
            f"{gateway.base_url}/v1/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {tenant.key}"},
        ) as response,
    ):
        assert response.status_code == 200
        first = next(response.iter_bytes())
        assert first.startswith(b"data: ")
    # the client is gone; the gateway records the call as cancelled, with what was produced

    def cancelled() -> list[dict[str, Any]]:
        with gateway.admin() as admin:
            rows = admin.get(
                "/audit", params={"actor": f"key:{tenant.key_id}", "limit": 1000}
            ).json()["rows"]
        return [row for row in rows if row["target"] == "model:openai/fake-stall-stream"]

    row = eventually(cancelled)[0]
    assert row["data"]["outcome"] == "cancelled"
    assert row["data"]["stream"] is True
    assert row["data"]["input_tokens"] > 0
