"""Schemathesis against the gateway's own OpenAPI document: whatever it generates, no route
answers with a server error, and every error body is in the shape its path promises."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.support.gateway import GatewayProcess
from tests.support.tenants import create_tenant

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture(scope="module")
def api_schema(gateway: GatewayProcess) -> Any:
    return schemathesis.openapi.from_url(f"{gateway.base_url}/schema/openapi.json")


@pytest.fixture(scope="module")
def virtual_key(gateway: GatewayProcess) -> str:
    with gateway.admin() as admin:
        return create_tenant(admin, "fuzz").key


@pytest.mark.timeout(900)  # every operation of the API, 30 examples each
def test_no_server_error_and_errors_in_shape(
    api_schema: Any, gateway: GatewayProcess, virtual_key: str
) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:
        check_operation(operation, gateway, virtual_key)


def check_operation(operation: Any, gateway: GatewayProcess, virtual_key: str) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=30,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        path: str = case.path
        secret = gateway.admin_key if path.startswith("/admin") else virtual_key
        response = case.call(
            base_url=gateway.base_url, headers={"Authorization": f"Bearer {secret}"}, timeout=10
        )
        label = f"{case.method} {case.formatted_path}"
        assert response.status_code < 500 or (
            path.startswith(("/v1/", "/v1beta/")) and response.status_code in (502, 504)
        ), f"{label}: {response.status_code} {response.text[:300]}"
        if response.status_code >= 400:
            body = response.json()
            if path.startswith("/v1beta/"):  # Gemini's API keeps Google's shape
                assert {"code", "message", "status"} <= set(body["error"]), label
                assert body["error"]["code"] == response.status_code, label
            elif path.startswith("/v1/messages"):  # the Anthropic Messages API keeps its shape
                assert body["type"] == "error", label
                assert set(body["error"]) == {"message", "type"}, label
            elif path.startswith("/v1/"):
                assert set(body["error"]) == {"message", "type", "param", "code"}, label
            else:
                content_type = response.headers["content-type"][0]
                assert content_type.startswith("application/problem+json"), label
                assert body["status"] == response.status_code, label

    run()
