"""What a first visitor meets, in both shapes: the landing at `/`, HEAD on the health routes and
the model list, a 404 naming the unknown path in the shape of its prefix, and CORS for browser
clients (allowed origins only; no CORS header at all where no origin is configured)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.e2e.conftest import BROWSER_ORIGIN
from tests.support.gateway import GatewayProcess
from tests.support.scim import scim_client, scim_org
from tests.support.tenants import Tenant, create_tenant

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def http(open_gateway: GatewayProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=open_gateway.base_url, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def tenant(open_gateway: GatewayProcess) -> Tenant:
    with open_gateway.admin() as admin:
        return create_tenant(admin, "surface")


def test_the_landing_says_what_this_is_and_where_its_docs_are(http: httpx.Client) -> None:
    landing = http.get("/")
    assert landing.status_code == 200
    body = landing.json()
    assert body["name"] == "FluxRouter"
    assert body["version"]
    assert (body["docs"], body["openapi"]) == ("/schema", "/schema/openapi.json")
    assert http.get(body["openapi"]).json()["info"]["version"] == body["version"]
    assert http.get(body["docs"]).status_code == 200
    assert http.get(body["health"]).status_code == 200


@pytest.mark.parametrize("path", ["/", "/healthz", "/readyz", "/v1/models", "/v1/models?x=1"])
@pytest.mark.parametrize("keyed", [True, False])
def test_head_answers_the_gets_status_and_headers_without_a_body(
    http: httpx.Client, tenant: Tenant, path: str, keyed: bool
) -> None:
    headers = {"Authorization": f"Bearer {tenant.key}"} if keyed else {}
    got, head = http.get(path, headers=headers), http.head(path, headers=headers)
    # the model list needs a key for HEAD too
    assert got.status_code == (401 if path.startswith("/v1") and not keyed else 200)
    assert head.status_code == got.status_code
    assert head.content == b""
    for header in ("content-type", "content-length"):
        assert head.headers[header] == got.headers[header]
    assert int(head.headers["content-length"]) == len(got.content) > 0


def test_an_unknown_path_is_named_in_the_shape_of_its_prefix(
    http: httpx.Client, open_gateway: GatewayProcess
) -> None:
    openai_shaped = http.post("/v1/chat/completion", json={})
    assert openai_shaped.status_code == 404
    error = openai_shaped.json()["error"]
    assert error["type"] == "not_found_error"
    assert error["code"] == "unknown_path"
    assert "/v1/chat/completion " in error["message"]
    assert "POST" in error["message"]

    admin = http.get("/admin/v1/organisations", headers={"Authorization": "Bearer x"})
    assert admin.status_code == 404
    assert admin.headers["content-type"] == PROBLEM
    assert admin.json()["status"] == 404
    assert "/admin/v1/organisations" in admin.json()["detail"]

    anthropic_shaped = http.post("/v1/messages/batches/nope", json={})
    assert anthropic_shaped.status_code == 404
    assert anthropic_shaped.json()["type"] == "error"
    assert "/v1/messages/batches/nope" in anthropic_shaped.json()["error"]["message"]

    elsewhere = http.get("/favicon.ico")
    assert elsewhere.status_code == 404
    assert elsewhere.headers["content-type"] == PROBLEM
    assert "/favicon.ico" in elsewhere.json()["detail"]

    with scim_client(open_gateway, scim_org(open_gateway, "surface").token) as scim:
        unknown = scim.get("/Nonexistent")
    assert unknown.status_code == 404
    assert unknown.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


def test_an_unknown_path_is_escaped_and_cut_short(http: httpx.Client) -> None:
    hostile = http.get("/v1/<script>alert(1)</script>%0d%0aX-Injected:%20yes")
    assert hostile.status_code == 404
    message = hostile.json()["error"]["message"]
    assert "<script>" not in message
    assert "%3Cscript%3E" in message
    assert "\r" not in message
    assert "\n" not in message
    assert "x-injected" not in hostile.headers
    long_path = "/admin/v1/" + "a" * 20_000
    long = http.get(long_path)
    assert long.status_code == 404
    detail = long.json()["detail"]
    assert len(detail) < 200
    assert detail.count("a") < 150
    assert "…" in detail


def test_a_browser_origin_that_is_allowed_gets_cors(
    http: httpx.Client, open_gateway: GatewayProcess, tenant: Tenant
) -> None:
    for path, method in (("/v1/chat/completions", "POST"), ("/admin/v1/audit", "GET")):
        preflight = http.options(
            path,
            headers={
                "Origin": BROWSER_ORIGIN,
                "Access-Control-Request-Method": method,
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert preflight.status_code == 204, preflight.text
        assert preflight.headers["access-control-allow-origin"] == BROWSER_ORIGIN
        assert method in preflight.headers["access-control-allow-methods"]
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
        assert "access-control-allow-credentials" not in preflight.headers

        refused = http.options(
            path,
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": method},
        )
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers

    client = openai.OpenAI(
        base_url=f"{open_gateway.base_url}/v1",
        api_key=tenant.key,
        max_retries=0,
        default_headers={"Origin": BROWSER_ORIGIN},
    )
    answer = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert answer.headers["access-control-allow-origin"] == BROWSER_ORIGIN
    assert "x-request-id" in answer.headers["access-control-expose-headers"]
    assert answer.parse().choices[0].message.content
    with open_gateway.admin() as admin:
        orgs = admin.get("/audit", headers={"Origin": BROWSER_ORIGIN})
        assert orgs.headers["access-control-allow-origin"] == BROWSER_ORIGIN
        other = admin.get("/audit", headers={"Origin": "https://evil.example"})
        assert other.status_code == 200
        assert "access-control-allow-origin" not in other.headers


@pytest.mark.postgres
@pytest.mark.redis
def test_no_cors_header_where_no_origin_is_configured(gateway: GatewayProcess) -> None:
    with httpx.Client(base_url=gateway.base_url, timeout=10) as http:
        preflight = http.options(
            "/v1/chat/completions",
            headers={"Origin": BROWSER_ORIGIN, "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status_code < 500
        assert not any(name.startswith("access-control-") for name in preflight.headers)
        models = http.get("/healthz", headers={"Origin": BROWSER_ORIGIN})
        assert not any(name.startswith("access-control-") for name in models.headers)
