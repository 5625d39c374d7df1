"""Hostile filters, paths and bodies on /scim/v2: always a SCIM error (4xx) or an answer, never
a 500, and never another org's data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.gateway import GatewayProcess
from tests.support.scim import SCIM_JSON, scim_client, scim_org

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.both_shapes]

ATTRIBUTES = st.sampled_from(
    [
        "userName",
        "externalId",
        "displayName",
        "id",
        "active",
        "emails",
        "emails.value",
        "meta.lastModified",
        "meta.created",
        "name.givenName",
        "members",
        "members.value",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        "nope",
        "x" * 300,
    ]
)
OPERATORS = st.sampled_from(
    ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "EQ", "xx"]
)
VALUES = st.one_of(
    st.text(max_size=30).map(json.dumps),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["true", "false", "null", '"2011-05-13T04:42:34Z"', "1e999", "-0.0"]),
    st.text(max_size=10),
)


@st.composite
def filters(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(st.integers(0, 5 if depth < 3 else 1))
    if kind == 0:
        return f"{draw(ATTRIBUTES)} {draw(OPERATORS)} {draw(VALUES)}"
    if kind == 1:
        return f"{draw(ATTRIBUTES)} pr"
    if kind == 2:
        op = draw(st.sampled_from(["and", "or", "AND", "Or"]))
        return f"{draw(filters(depth + 1))} {op} {draw(filters(depth + 1))}"
    if kind == 3:
        return f"not ({draw(filters(depth + 1))})"
    if kind == 4:
        return f"emails[{draw(filters(depth + 1))}].value eq {draw(VALUES)}"
    return f"({draw(filters(depth + 1))})"


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
USER_KEYS = st.sampled_from(
    [
        "userName",
        "active",
        "emails",
        "name",
        "externalId",
        "schemas",
        "displayName",
        "id",
        "meta",
        "groups",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "name.givenName",
    ]
)
PATCH_PATHS = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "active",
            'emails[type eq "work"].value',
            'members[value eq "x"]',
            "name.givenName",
            "id",
            "meta",
            "members",
            "emails[",
            "]",
            "urn:x:y",
            "groups",
            "userName",
        ]
    ),
    st.text(max_size=20),
)


@pytest.fixture(scope="module")
def scim(gateway: GatewayProcess) -> Iterator[httpx.Client]:
    org = scim_org(gateway, "hostile")
    with scim_client(gateway, org.token) as client:
        made = client.post("/Users", json={"userName": "victim@example.com"})
        assert made.status_code == 201, made.text
        client.headers["x-victim"] = made.json()["id"]
        yield client


def no_server_error(answer: httpx.Response) -> None:
    """A 4xx, or 501 for a feature the service announces it lacks (sorting, bulk)."""
    unsupported = answer.status_code == 501 and "not supported" in answer.text
    assert answer.status_code < 500 or unsupported, (
        f"{answer.request.method} {answer.request.url}: {answer.text}"
    )
    if answer.status_code >= 400:
        body = answer.json()
        assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert body["status"] == str(answer.status_code)


@settings(max_examples=150, suppress_health_check=list(HealthCheck))
@given(scim_filter=st.one_of(filters(), st.text(max_size=60)))
def test_hostile_filters(scim: httpx.Client, scim_filter: str) -> None:
    for endpoint in ("/Users", "/Groups"):
        answer = scim.get(endpoint, params={"filter": scim_filter, "count": "5"})
        no_server_error(answer)
        if answer.status_code == 400 and answer.json().get("scimType"):
            assert answer.json()["scimType"] in ("invalidFilter", "invalidValue")


@settings(max_examples=120, suppress_health_check=list(HealthCheck))
@given(
    body=st.one_of(st.dictionaries(USER_KEYS, JSON_VALUES, max_size=6), JSON_VALUES),
    query=st.dictionaries(
        st.sampled_from(["startIndex", "count", "attributes", "excludedAttributes", "sortBy"]),
        st.text(max_size=12),
        max_size=3,
    ),
)
def test_hostile_bodies_and_parameters(
    scim: httpx.Client, body: Any, query: dict[str, str]
) -> None:
    victim = scim.headers["x-victim"]
    headers = {"Content-Type": SCIM_JSON}
    no_server_error(scim.post("/Users", json=body, headers=headers, params=query))
    no_server_error(scim.put(f"/Users/{victim}", json=body, headers=headers))
    no_server_error(scim.post("/Groups", json=body, headers=headers))
    no_server_error(scim.get("/Users", params=query))
    no_server_error(scim.get(f"/Users/{victim}", params=query))


@settings(max_examples=120, suppress_health_check=list(HealthCheck))
@given(
    op=st.sampled_from(["add", "Add", "replace", "REPLACE", "remove", "Remove", "move", ""]),
    path=PATCH_PATHS,
    value=JSON_VALUES,
)
def test_hostile_patches(scim: httpx.Client, op: str, path: str | None, value: Any) -> None:
    operation: dict[str, Any] = {"op": op, "value": value}
    if path is not None:
        operation["path"] = path
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [operation]}
    no_server_error(scim.patch(f"/Users/{scim.headers['x-victim']}", json=body))


def test_raw_garbage(scim: httpx.Client) -> None:
    for content in (b"{", b"\xff\xfe", b"[]", b"null", b'{"userName": "\\u0000"}', b"1" * 5000):
        no_server_error(scim.post("/Users", content=content, headers={"Content-Type": SCIM_JSON}))
    no_server_error(scim.post("/Users", content=b"{}", headers={"Content-Type": "text/plain"}))
    no_server_error(scim.get("/Users/" + "a" * 5000))
    no_server_error(scim.get("/Nope"))
    no_server_error(scim.request("PATCH", "/ServiceProviderConfig", json={}))
