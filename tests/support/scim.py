"""An org with a SCIM token, and a client speaking SCIM to the gateway as an identity provider."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import httpx

from tests.support.gateway import GatewayProcess

SCIM_JSON = "application/scim+json"


@dataclass(frozen=True)
class ScimOrg:
    org_id: str
    token_id: str
    token: str


def scim_org(gateway: GatewayProcess, name: str) -> ScimOrg:
    with gateway.admin() as admin:
        org = admin.post("/orgs", json={"name": f"{name}-{secrets.token_hex(3)}"})
        assert org.status_code == 201, org.text
        org_id = org.json()["id"]
        made = admin.post(f"/orgs/{org_id}/scim-tokens", json={})
        assert made.status_code == 201, made.text
    return ScimOrg(org_id, made.json()["id"], made.json()["token"])


def scim_client(gateway: GatewayProcess, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{gateway.base_url}/scim/v2",
        timeout=20,
        headers={"Authorization": f"Bearer {token}", "Accept": SCIM_JSON},
    )
