"""The embedded shape when another writer keeps SQLite's write lock past the busy timeout (a
backup tool, a `sqlite3` shell left in a transaction): each write waits the timeout, then is
refused as a retryable 503 in its API's shape, changes nothing, and goes through once the lock
is free. Never a 500."""

from __future__ import annotations

import secrets
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from infrastructure.db.engine import BUSY_TIMEOUT_SECONDS
from tests.support.gateway import GatewayProcess
from tests.support.scim import SCIM_JSON, scim_org

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def test_a_write_held_up_past_the_busy_timeout_is_a_503_in_each_apis_shape(
    sqlite_gateway: GatewayProcess,
) -> None:
    gateway = sqlite_gateway
    org = scim_org(gateway, "busy")
    name = f"busy-{secrets.token_hex(3)}"
    user_name = f"{name}@example.com"
    scim_headers = {"Authorization": f"Bearer {org.token}", "Content-Type": SCIM_JSON}

    def admin_write() -> httpx.Response:
        with gateway.admin() as admin:
            return admin.post("/orgs", json={"name": name}, timeout=BUSY_TIMEOUT_SECONDS + 30)

    def scim_write() -> httpx.Response:
        return httpx.post(
            f"{gateway.base_url}/scim/v2/Users",
            json={"schemas": [USER], "userName": user_name},
            headers=scim_headers,
            timeout=BUSY_TIMEOUT_SECONDS + 30,
        )

    holder = sqlite3.connect(gateway.database_url.removeprefix("sqlite:///"), timeout=60)
    holder.isolation_level = None
    try:
        holder.execute("BEGIN IMMEDIATE")  # the write lock, as another program would take it
        with ThreadPoolExecutor(2) as pool:
            admin_answer, scim_answer = (
                future.result() for future in [pool.submit(admin_write), pool.submit(scim_write)]
            )
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert admin_answer.status_code == 503, admin_answer.text
    assert admin_answer.headers["content-type"].startswith("application/problem+json")
    assert admin_answer.headers["retry-after"] == "1"
    problem: dict[str, Any] = admin_answer.json()
    assert (problem["status"], problem["code"]) == (503, "database_busy")
    assert "try again" in problem["detail"]

    assert scim_answer.status_code == 503, scim_answer.text
    assert scim_answer.headers["content-type"].startswith(SCIM_JSON)
    assert scim_answer.headers["retry-after"] == "1"
    error = scim_answer.json()
    assert error["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert error["status"] == "503"

    with gateway.admin() as admin:  # nothing was written, and the same writes now go through
        assert name not in admin.get("/orgs").text
        assert admin_write().status_code == 201
    listed = httpx.get(
        f"{gateway.base_url}/scim/v2/Users", headers=scim_headers, params={"count": 100}
    )
    assert user_name not in listed.text
    assert scim_write().status_code == 201
    logs = gateway.logs()
    assert '"event":"http.database_busy"' in logs
    assert '"event":"scim.database_busy"' in logs
