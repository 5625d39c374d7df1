"""Hostile filters, paths and bodies on /scim/v2: always a SCIM error (4xx) or an answer, never
a 500, and never another org's data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

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
        group = client.post("/Groups", json={"displayName": "hostile-group"})
        assert group.status_code == 201, group.text
        client.headers["x-group"] = group.json()["id"]
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


# text as hostile as a URL or a JSON string can carry it: NUL and other control characters,
# any plane of Unicode (not lone surrogates, which no UTF-8 request can hold), long runs
HOSTILE_TEXT = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=40),
    st.text(st.sampled_from('\x00\x01\x1f\x7f\u2028\ufeff\U0001f600é%/?#[]"\\ '), max_size=40),
    st.builds(lambda text, n: text * n, st.text(min_size=1, max_size=3), st.integers(300, 500)),
)


def test_a_nul_in_an_id_is_a_scim_404(scim: httpx.Client) -> None:
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": "x"}],
    }
    for endpoint in ("/Users", "/Groups"):
        for resource_id in ("\x00", "a\x00b", scim.headers["x-victim"] + "\x00"):
            for method, body in (("GET", None), ("PUT", {"userName": "x"}), ("PATCH", patch)):
                answer = scim.request(method, f"{endpoint}/{quote(resource_id)}", json=body)
                assert answer.status_code == 404, answer.text
                no_server_error(answer)
            answer = scim.delete(f"{endpoint}/{quote(resource_id)}")
            assert answer.status_code == 404, answer.text
            no_server_error(answer)


@settings(max_examples=80, suppress_health_check=list(HealthCheck))
@given(resource_id=HOSTILE_TEXT.filter(lambda text: text.strip("/") not in ("", ".", "..")))
def test_hostile_ids(scim: httpx.Client, resource_id: str) -> None:
    resource_id = quote(resource_id, safe="")
    for endpoint in ("/Users", "/Groups"):
        no_server_error(scim.get(f"{endpoint}/{resource_id}"))
        no_server_error(scim.delete(f"{endpoint}/{resource_id}"))
        no_server_error(
            scim.patch(
                f"{endpoint}/{resource_id}",
                json={
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "path": "displayName", "value": "x"}],
                },
            )
        )


@settings(max_examples=80, suppress_health_check=list(HealthCheck))
@given(
    text=HOSTILE_TEXT,
    shape=st.sampled_from(
        [
            "{}",
            "userName eq {}",
            "id eq {}",
            "externalId eq {}",
            "displayName eq {}",
            "emails[value eq {}]",
            "userName sw {} or userName ew {}",
        ]
    ),
    raw=st.booleans(),
)
def test_hostile_filter_values(scim: httpx.Client, text: str, shape: str, raw: bool) -> None:
    scim_filter = shape.format(text, text) if raw else shape.format(*[json.dumps(text)] * 2)
    for endpoint in ("/Users", "/Groups"):
        no_server_error(scim.get(endpoint, params={"filter": scim_filter}))


@settings(max_examples=80, suppress_health_check=list(HealthCheck))
@given(
    text=HOSTILE_TEXT,
    shape=st.sampled_from(["{}", "members[value eq {}]", "emails[value eq {}].value", "{}.x"]),
    op=st.sampled_from(["add", "replace", "remove"]),
    value=st.one_of(st.none(), HOSTILE_TEXT, st.builds(lambda v: [{"value": v}], HOSTILE_TEXT)),
)
def test_hostile_patch_paths(
    scim: httpx.Client, text: str, shape: str, op: str, value: Any
) -> None:
    path = shape.format(json.dumps(text) if "eq" in shape else text)
    operation: dict[str, Any] = {"op": op, "path": path}
    if value is not None:
        operation["value"] = value
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [operation]}
    no_server_error(scim.patch(f"/Users/{scim.headers['x-victim']}", json=body))
    no_server_error(scim.patch(f"/Groups/{scim.headers['x-group']}", json=body))
