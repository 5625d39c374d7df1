"""The operator's cap on an org's budget, through the real gateway: an org admin may tighten the
org's budget under the cap but neither raise it above nor remove it, nor set a team's above it;
only the operator (the admin key, or the command line) raises or lifts the cap; spending stops at
the cap; every refusal is an RFC 9457 problem and an audit row."""

from __future__ import annotations

import secrets
import time
from typing import Any

import httpx
import openai
import pytest

from tests.support.gateway import LIMITS_RELOAD, GatewayProcess
from tests.support.tenants import Tenant, create_tenant, eventually

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.both_shapes]

HELLO: Any = [{"role": "user", "content": "one two three four"}]


def org_admin(gateway: GatewayProcess, root: httpx.Client, org_id: str) -> tuple[str, httpx.Client]:
    """A person with the admin role in the org, and a client with their admin token."""
    name = f"cap-admin-{secrets.token_hex(3)}"
    made = root.post(
        "/users", json={"org_id": org_id, "email": f"{name}@example.com", "role": "admin"}
    )
    assert made.status_code == 201, made.text
    user_id = made.json()["id"]
    token = root.post(f"/users/{user_id}/tokens", json={})
    assert token.status_code == 201, token.text
    client = httpx.Client(
        base_url=f"{gateway.base_url}/admin/v1",
        timeout=10,
        headers={"Authorization": f"Bearer {token.json()['token']}"},
    )
    return user_id, client


def problem(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, (
        f"{answer.request.method} {answer.request.url}: {answer.text}"
    )
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    assert body["status"] == status
    assert body["code"] == code, body
    return body


def ok(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 200, f"{answer.request.method} {answer.request.url}: {answer.text}"
    body: dict[str, Any] = answer.json()
    return body


def org_period(client: httpx.Client, org_id: str, period: str = "month") -> dict[str, Any]:
    periods = ok(client.get(f"/orgs/{org_id}/spend"))["periods"]
    (found,) = [row for row in periods if row["period"] == period]
    return found


def audit_rows(root: httpx.Client, action: str, target: str) -> list[dict[str, Any]]:
    rows = root.get("/audit", params={"action": action, "limit": 1000}).json()["rows"]
    return [row for row in rows if row["target"] == target]


def test_an_org_admin_can_neither_raise_nor_remove_the_budget_past_the_operators_cap(
    gateway: GatewayProcess, root: httpx.Client
) -> None:
    tenant = create_tenant(root, "capped")
    org = f"/orgs/{tenant.org_id}"
    admin_id, admin = org_admin(gateway, root, tenant.org_id)
    with admin:
        # before any cap, the org admin sets the org's budget as they like
        ok(admin.put(f"{org}/budget", json={"period": "month", "max_usd": "1000"}))

        capped = ok(root.put(f"{org}/budget-cap", json={"period": "month", "max_usd": "100"}))
        assert capped == {
            "org_id": tenant.org_id,
            "period": "month",
            "max_usd": "100",
            "max_tokens": None,
        }
        # the cap brought the org's own budget down to it
        assert org_period(admin, tenant.org_id)["max_usd"] == "100"
        assert ok(admin.get(f"{org}/budget-caps")) == [capped]

        # tightening under the cap is the org admin's to do
        assert (
            ok(admin.put(f"{org}/budget", json={"period": "month", "max_usd": "50"}))["max_usd"]
            == "50"
        )
        raised = problem(
            admin.put(f"{org}/budget", json={"period": "month", "max_usd": "500"}),
            403,
            "budget_cap_exceeded",
        )
        assert "$100 per month" in raised["detail"]
        problem(
            admin.put(f"{org}/budget", json={"period": "month", "max_usd": None}),
            403,
            "budget_cap_exceeded",
        )
        # trading the USD limit for a token one is removing the capped measure
        problem(
            admin.put(f"{org}/budget", json={"period": "month", "max_tokens": 10**9}),
            403,
            "budget_cap_exceeded",
        )
        problem(
            admin.put(
                f"/teams/{tenant.team_id}/budget", json={"period": "month", "max_usd": "100.01"}
            ),
            403,
            "budget_cap_exceeded",
        )
        problem(
            admin.put(f"/keys/{tenant.key_id}/limits", json={"period": "month", "max_usd": "101"}),
            403,
            "budget_cap_exceeded",
        )
        # nor may the org admin move the cap itself
        problem(
            admin.put(f"{org}/budget-cap", json={"period": "month", "max_usd": "5000"}),
            403,
            "forbidden",
        )
        problem(
            admin.put(f"{org}/budget-cap", json={"period": "month", "max_usd": None}),
            403,
            "forbidden",
        )
        # other periods are not capped: a day budget is the org admin's as before
        ok(admin.put(f"{org}/budget", json={"period": "day", "max_usd": "20"}))
        ok(admin.put(f"/teams/{tenant.team_id}/budget", json={"period": "month", "max_usd": "80"}))

        assert org_period(admin, tenant.org_id)["max_usd"] == "50"
        assert ok(admin.get(f"{org}/budget-caps")) == [capped]

    (cap_row,) = audit_rows(root, "budget_cap.set", f"org:{tenant.org_id}")
    assert cap_row["actor"] == "admin"
    assert cap_row["data"] == {"period": "month", "max_usd": "100", "max_tokens": None}
    refused = audit_rows(root, "budget.cap_refused", f"org:{tenant.org_id}")
    assert [(row["actor"], row["data"]["max_usd"]) for row in refused] == [
        (f"user:{admin_id}", "500"),
        (f"user:{admin_id}", None),
        (f"user:{admin_id}", None),
    ]
    assert len(audit_rows(root, "budget.cap_refused", f"team:{tenant.team_id}")) == 1
    assert len(audit_rows(root, "budget.cap_refused", f"key:{tenant.key_id}")) == 1
    clamp_rows = audit_rows(root, "budget.set", f"org:{tenant.org_id}")
    assert [(row["actor"], row["data"]["max_usd"]) for row in clamp_rows] == [
        (f"user:{admin_id}", "1000"),
        ("admin", "100"),  # the cap bringing the budget down
        (f"user:{admin_id}", "50"),
        (f"user:{admin_id}", "20"),
    ]
    assert root.get("/audit/verify").json()["ok"] is True


@pytest.mark.timeout(600)  # four command-line processes, each a few seconds when busy
def test_only_the_operator_raises_or_lifts_the_cap(
    gateway: GatewayProcess, root: httpx.Client
) -> None:
    tenant = create_tenant(root, "lifted")
    org = f"/orgs/{tenant.org_id}"
    _, admin = org_admin(gateway, root, tenant.org_id)
    with admin:
        ok(root.put(f"{org}/budget-cap", json={"period": "total", "max_tokens": 1000}))
        problem(
            admin.put(f"{org}/budget", json={"period": "total", "max_tokens": 2000}),
            403,
            "budget_cap_exceeded",
        )

        ok(root.put(f"{org}/budget-cap", json={"period": "total", "max_tokens": 5000}))
        assert (
            ok(admin.put(f"{org}/budget", json={"period": "total", "max_tokens": 2000}))[
                "max_tokens"
            ]
            == 2000
        )
        problem(
            admin.put(f"{org}/budget", json={"period": "total", "max_tokens": None}),
            403,
            "budget_cap_exceeded",
        )

        # the operator lifts it from the command line
        lifted = gateway.fluxrouter(
            "orgs", "budget-cap", tenant.org_id, "--period", "total", "--lift"
        )
        assert lifted.returncode == 0, lifted.stdout + lifted.stderr
        assert ok(admin.get(f"{org}/budget-caps")) == []
        removed = ok(admin.put(f"{org}/budget", json={"period": "total", "max_tokens": None}))
        assert removed["max_tokens"] is None
        assert org_period(admin, tenant.org_id, "total")["max_tokens"] is None

        # and caps it again the same way; the org's missing budget becomes the cap
        again = gateway.fluxrouter(
            "orgs", "budget-cap", tenant.org_id, "--period", "month", "--max-usd", "7.5"
        )
        assert again.returncode == 0, again.stdout + again.stderr
        assert "$7.5 per month" in again.stdout
        assert org_period(admin, tenant.org_id)["max_usd"] == "7.5"
        problem(
            admin.put(f"{org}/budget", json={"period": "month", "max_usd": None}),
            403,
            "budget_cap_exceeded",
        )

    bad = gateway.fluxrouter("orgs", "budget-cap", tenant.org_id, "--max-usd", "-1")
    assert bad.returncode == 1
    assert "must not be negative" in bad.stdout
    unknown = gateway.fluxrouter("orgs", "budget-cap", "no-such-org", "--max-usd", "1")
    assert unknown.returncode == 1
    assert "no such org" in unknown.stdout

    def actions() -> list[tuple[str, str, str]]:
        return [
            (row["actor"], row["action"], row["data"]["period"])
            for action in ("budget_cap.set", "budget_cap.remove")
            for row in audit_rows(root, action, f"org:{tenant.org_id}")
        ]

    eventually(lambda: len(actions()) == 4)
    assert actions() == [
        ("admin", "budget_cap.set", "total"),
        ("admin", "budget_cap.set", "total"),
        ("cli", "budget_cap.set", "month"),
        ("cli", "budget_cap.remove", "total"),
    ]


def test_spending_stops_at_the_cap_whatever_the_org_admin_tries(
    gateway: GatewayProcess, root: httpx.Client
) -> None:
    tenant: Tenant = create_tenant(root, "capspend")
    org = f"/orgs/{tenant.org_id}"
    _, admin = org_admin(gateway, root, tenant.org_id)
    with admin:
        ok(root.put(f"{org}/budget-cap", json={"period": "day", "max_tokens": 40}))
        for body in (
            {"period": "day", "max_tokens": None},
            {"period": "day", "max_tokens": 10**6},
            {"period": "day", "max_usd": "1000"},
        ):
            problem(admin.put(f"{org}/budget", json=body), 403, "budget_cap_exceeded")
        problem(
            admin.put(f"/keys/{tenant.key_id}/limits", json={"period": "day", "max_tokens": 10**6}),
            403,
            "budget_cap_exceeded",
        )
    time.sleep(LIMITS_RELOAD)
    client = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=tenant.key, max_retries=0)
    with pytest.raises(openai.RateLimitError) as refused:
        client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, max_tokens=100)
    assert refused.value.code == "budget_exceeded"
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, max_tokens=5)
    assert answer.choices[0].message.content

    def refusals() -> list[dict[str, Any]]:
        rows = root.get("/audit", params={"action": "budget.refused", "limit": 1000}).json()
        return [row for row in rows["rows"] if row["actor"] == f"key:{tenant.key_id}"]

    # the org's own budget, which the cap set and the org admin could not lift, refused it
    rows = eventually(refusals)
    assert {row["target"].rsplit(":", 1)[0] for row in rows} == {f"org:{tenant.org_id}:day"}
