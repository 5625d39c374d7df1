"""A SCIM PATCH with many operations never stalls the gateway: past `scim.max_patch_operations`
it is refused at once, at the bound it is applied whole and right, and meanwhile `/healthz`
answers for everyone else.

Every `/healthz` polled while the PATCH is on its way must be answered, and the refused PATCH
must leave the resource as it was. How fast is not asserted here: timings belong to benchmarks.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.gateway import GatewayProcess
from tests.support.scim import SCIM_JSON, scim_client, scim_org

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.both_shapes]

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BOUND = 1000  # scim.max_patch_operations' default


def patch_body(operations: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": operations}


async def _patch_while_polling(
    base_url: str, token: str, path: str, content: bytes
) -> tuple[httpx.Response, int]:
    """Sends the PATCH and, from another connection, polls /healthz until it is answered:
    (the answer, how many /healthz answers came meanwhile, each a 200)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON}
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=60) as health,
        httpx.AsyncClient(base_url=f"{base_url}/scim/v2", timeout=60, headers=headers) as scim,
    ):
        assert (await health.get("/healthz")).status_code == 200  # the connection is open
        patching = asyncio.create_task(scim.patch(path, content=content))
        polls = 0
        while not patching.done():
            assert (await health.get("/healthz")).status_code == 200
            polls += 1
        return await patching, polls


def patch_while_polling(
    gateway: GatewayProcess, token: str, path: str, operations: list[dict[str, Any]]
) -> tuple[httpx.Response, int]:
    content = json.dumps(patch_body(operations)).encode()
    return asyncio.run(_patch_while_polling(gateway.base_url, token, path, content))


@pytest.fixture(scope="module")
def scim(gateway: GatewayProcess) -> Iterator[httpx.Client]:
    org = scim_org(gateway, "large-patches")
    with scim_client(gateway, org.token) as client:
        client.headers["x-token"] = org.token
        yield client


def people(scim: httpx.Client, count: int, tag: str) -> list[str]:
    ids = []
    for index in range(count):
        made = scim.post("/Users", json={"userName": f"{tag}-{index}@example.com"})
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    return ids


def members_of(scim: httpx.Client, group_id: str) -> set[str]:
    answer = scim.get(f"/Groups/{group_id}")
    assert answer.status_code == 200, answer.text
    return {member["value"] for member in answer.json().get("members", [])}


@pytest.mark.parametrize("endpoint", ["Users", "Groups"])
def test_a_10000_operation_patch_is_refused_at_once_while_healthz_answers(
    gateway: GatewayProcess, scim: httpx.Client, endpoint: str
) -> None:
    if endpoint == "Users":
        made = scim.post("/Users", json={"userName": f"huge-{random.random()}@example.com"})
        operations = [
            {"op": "add", "path": "emails", "value": [{"value": f"a{i}@example.com"}]}
            for i in range(10_000)
        ]
    else:
        made = scim.post("/Groups", json={"displayName": f"huge-{random.random()}"})
        operations = [
            {"op": "add", "path": "members", "value": [{"value": f"user-{i}"}]}
            for i in range(10_000)
        ]
    assert made.status_code == 201, made.text
    answer, polls = patch_while_polling(
        gateway, scim.headers["x-token"], f"/{endpoint}/{made.json()['id']}", operations
    )
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert (body["status"], body["scimType"]) == ("400", "tooMany")
    assert str(BOUND) in body["detail"]
    assert polls, "/healthz was not answered while the PATCH was on its way"
    # refused whole: not one of the 10,000 operations was applied
    after = scim.get(f"/{endpoint}/{made.json()['id']}")
    assert after.status_code == 200, after.text
    if endpoint == "Users":
        assert not after.json().get("emails"), after.json()
    else:
        assert not after.json().get("members"), after.json()


def test_a_patch_at_the_bound_applies_every_member_change(
    gateway: GatewayProcess, scim: httpx.Client
) -> None:
    users = people(scim, 120, f"bound-{random.random()}")
    made = scim.post(
        "/Groups",
        json={"displayName": f"bound-{random.random()}", "members": [{"value": users[0]}]},
    )
    assert made.status_code == 201, made.text
    group_id = made.json()["id"]
    shuffle = random.Random(22)
    expected = {users[0]}
    operations: list[dict[str, Any]] = []
    for _ in range(BOUND):
        chosen = shuffle.sample(users, shuffle.randint(1, 3))
        shape = shuffle.randrange(4)
        if shape == 0:  # Entra ID and Okta: add a list of members
            operations.append(
                {"op": "add", "path": "members", "value": [{"value": u} for u in chosen]}
            )
            expected |= set(chosen)
        elif shape == 1:  # Okta: remove one by a filtered path
            operations.append({"op": "remove", "path": f'members[value eq "{chosen[0]}"]'})
            expected.discard(chosen[0])
        elif shape == 2:  # Entra ID: remove with a value naming the members
            operations.append(
                {"op": "Remove", "path": "members", "value": [{"value": u} for u in chosen]}
            )
            expected -= set(chosen)
        else:  # an operation without a path
            operations.append({"op": "add", "value": {"members": [{"value": chosen[0]}]}})
            expected.add(chosen[0])
    assert len(operations) == BOUND
    answer, polls = patch_while_polling(
        gateway, scim.headers["x-token"], f"/Groups/{group_id}", operations
    )
    assert answer.status_code == 204, answer.text
    assert members_of(scim, group_id) == expected
    assert polls
    # the last operation replaces the whole membership, with the other attributes kept
    final = sorted(shuffle.sample(users, 50))
    replaced = scim.patch(
        f"/Groups/{group_id}",
        json=patch_body(
            [
                {"op": "replace", "path": "members", "value": [{"value": u} for u in final]},
                {"op": "replace", "path": "displayName", "value": f"renamed-{random.random()}"},
            ]
        ),
    )
    assert replaced.status_code == 204, replaced.text
    assert members_of(scim, group_id) == set(final)


def test_a_patch_naming_an_unknown_member_changes_nothing(
    gateway: GatewayProcess, scim: httpx.Client
) -> None:
    (user,) = people(scim, 1, f"unknown-{random.random()}")
    made = scim.post("/Groups", json={"displayName": f"unknown-{random.random()}"})
    group_id = made.json()["id"]
    answer = scim.patch(
        f"/Groups/{group_id}",
        json=patch_body(
            [
                {"op": "add", "path": "members", "value": [{"value": user}]},
                {"op": "add", "path": "members", "value": [{"value": "no-such-user"}]},
            ]
        ),
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["scimType"] == "invalidValue"
    assert members_of(scim, group_id) == set()


def test_a_body_past_the_scim_cap_is_a_scim_413(scim: httpx.Client) -> None:
    answer = scim.post("/Users", content=b" " * (1048576 + 1), headers={"Content-Type": SCIM_JSON})
    assert answer.status_code == 413, answer.text
    assert answer.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


def test_a_filter_past_the_length_bound_is_an_invalid_filter(scim: httpx.Client) -> None:
    long_filter = " or ".join(f'userName eq "u{i}"' for i in range(200))
    assert len(long_filter) > 2000
    answer = scim.get("/Users", params={"filter": long_filter})
    assert answer.status_code == 400, answer.text
    assert answer.json()["scimType"] == "invalidFilter"


def test_relabelling_many_members_in_one_patch_keeps_each_label(
    gateway: GatewayProcess, scim: httpx.Client
) -> None:
    users = people(scim, 30, f"labels-{random.random()}")
    made = scim.post(
        "/Groups",
        json={
            "displayName": f"labels-{random.random()}",
            "members": [{"value": u, "display": "before"} for u in users],
        },
    )
    assert made.status_code == 201, made.text
    group_id = made.json()["id"]
    relabel = [
        {"op": "add", "path": "members", "value": [{"value": u, "display": f"after {i}"}]}
        for i, u in enumerate(users[:20])
    ]
    answer = scim.patch(f"/Groups/{group_id}", json=patch_body(relabel))
    assert answer.status_code == 204, answer.text
    shown = scim.get(f"/Groups/{group_id}").json()["members"]
    labels = {member["value"]: member.get("display") for member in shown}
    assert labels == {u: f"after {i}" if i < 20 else "before" for i, u in enumerate(users)}


def test_a_search_body_filter_past_the_length_bound_is_an_invalid_filter(
    scim: httpx.Client,
) -> None:
    long_filter = " or ".join(f'displayName eq "g{i}"' for i in range(200))
    answer = scim.post(
        "/Groups/.search",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": long_filter,
        },
        headers={"Content-Type": SCIM_JSON},
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["scimType"] == "invalidFilter"
