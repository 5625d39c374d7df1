"""The gateway signs audit checkpoints by itself: its key made once at first start (private, never
logged), checkpoints in the table and the directory once enough rows are unanchored, and the
public key served to the operator only."""

from __future__ import annotations

import functools
import json
import stat
from pathlib import Path

import httpx

from tests.conftest import UPSTREAM_KEY
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.gateway import gateway_config, own_gateway
from tests.support.tenants import eventually


def test_the_gateway_signs_checkpoints_and_serves_its_public_key(
    upstream: FakeOpenAI, tmp_path: Path
) -> None:
    with own_gateway(
        "sqlite",
        tmp_path,
        functools.partial(
            gateway_config, upstream_url=upstream.base_url, upstream_key=UPSTREAM_KEY
        ),
        admin_key="fradm-" + "c" * 40,
        audit={"checkpoint_every_rows": 3, "checkpoint_every_seconds": 3600},
    ) as process:
        key_file = tmp_path / "fluxrouter-audit-signing.key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        private = key_file.read_text()
        body = "".join(private.splitlines()[1:-1])
        assert process.logs().count("generated the audit signing key") == 1

        with process.admin() as admin:
            org = admin.post("/orgs", json={"name": "anchored-0"}).json()
            for n in range(1, 4):
                assert admin.post("/orgs", json={"name": f"anchored-{n}"}).status_code == 201

            def anchored() -> dict[str, object] | None:
                found = list((tmp_path / "audit-checkpoints").glob("*/latest.json"))
                if not found:  # the chain's checkpoints are in a subdirectory named after it
                    return None
                latest = json.loads(found[0].read_text())
                return latest if latest["seq"] >= 3 else None

            latest = eventually(anchored, timeout=60)  # the accounting process starts first
            verify = admin.get("/audit/verify").json()
            assert verify["ok"] is True, verify
            assert verify["checkpoints"] >= 1
            assert verify["signatures_checked"] is True
            assert verify["checkpoint_seq"] >= 3

            public = admin.get("/audit/public-key")
            assert public.status_code == 200
            served = public.json()
            assert served["algorithm"] == "Ed25519"
            assert served["key_id"] == latest["key_id"]
            printed = process.fluxrouter("audit", "public-key")
            assert printed.returncode == 0, printed.stderr
            assert printed.stdout.strip() == served["pem"].strip()
            as_base64 = process.fluxrouter("audit", "public-key", "--format", "base64")
            assert as_base64.stdout.strip() == served["raw_base64"]

            owner = admin.post(
                "/users", json={"org_id": org["id"], "email": "owner@x.io", "role": "owner"}
            ).json()
            token = admin.post(f"/users/{owner['id']}/tokens", json={}).json()["token"]
        url = f"{process.base_url}/admin/v1/audit/public-key"
        assert httpx.get(url).status_code == 401
        as_owner = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
        assert as_owner.status_code == 403
        assert as_owner.headers["content-type"].startswith("application/problem+json")

        process.restart()  # the key is kept, not made again
        with process.admin() as admin:
            assert admin.get("/audit/public-key").json()["key_id"] == served["key_id"]
        assert process.logs().count("generated the audit signing key") == 1
        assert key_file.read_text() == private
        assert body not in process.logs()
        assert "PRIVATE KEY" not in process.logs()
