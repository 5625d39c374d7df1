"""Creating an org, a team and a key through the admin API, as a script would."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Tenant:
    org_id: str
    team_id: str
    key_id: str
    key: str


def create_tenant(admin: httpx.Client, name: str, *, models: list[str] | None = None) -> Tenant:
    org = admin.post("/orgs", json={"name": f"{name}-org"})
    assert org.status_code == 201, org.text
    team = admin.post("/teams", json={"org_id": org.json()["id"], "name": f"{name}-team"})
    assert team.status_code == 201, team.text
    body: dict[str, Any] = {"team_id": team.json()["id"], "name": f"{name}-key"}
    if models is not None:
        body["models"] = models
    key = admin.post("/keys", json=body)
    assert key.status_code == 201, key.text
    return Tenant(org.json()["id"], team.json()["id"], key.json()["id"], key.json()["key"])


def eventually(check: Callable[[], Any], *, timeout: float = 15.0, every: float = 0.1) -> Any:
    """Polls `check` until it returns a truthy value (read models are eventually consistent)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}")
