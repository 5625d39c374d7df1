"""No secret leaves the gateway: the upstream key, the virtual keys and the admin key appear in no
answer, no log line and no database row, even when the upstream echoes its key in an error (the
log line that reports the refusal included)."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import UPSTREAM_KEY
from tests.support.gateway import GatewayProcess
from tests.support.tenants import Tenant, create_tenant, eventually

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.both_shapes]

HELLO = [{"role": "user", "content": "hi"}]


def dump(answer: httpx.Response) -> str:
    headers = "\n".join(f"{name}: {value}" for name, value in answer.headers.multi_items())
    return f"{answer.status_code}\n{headers}\n{answer.content.decode('latin-1')}"


def database_text(url: str) -> str:
    """Every row of every table, as text (bytes decoded as latin-1 so nothing hides)."""
    engine = sa.create_engine(url)
    parts: list[str] = []
    try:
        with engine.connect() as conn:
            for name in sa.inspect(engine).get_table_names():
                parts.append(f"== {name}")
                for row in conn.execute(sa.text(f'SELECT * FROM "{name}"')):
                    parts.extend(
                        value.decode("latin-1") if isinstance(value, bytes) else str(value)
                        for value in row
                    )
    finally:
        engine.dispose()
    return "\n".join(parts)


@pytest.fixture(scope="module")
def driven(gateway: GatewayProcess) -> tuple[list[str], list[Tenant]]:
    """Successful and failing calls of every kind; every answer seen, and the tenants made."""
    seen: list[str] = []
    with gateway.admin() as admin:
        live = create_tenant(admin, "leaks")
        doomed = create_tenant(admin, "leaks-revoked")
        seen.extend(dump(a) for a in (admin.get("/usage"), admin.get("/audit")))
    v1 = f"{gateway.base_url}/v1"
    with httpx.Client(base_url=v1, timeout=15) as http:

        def call(key: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
            headers = {"Authorization": f"Bearer {key}"}
            if body is None:
                answer = http.get(path, headers=headers)
            else:
                answer = http.post(path, json=body, headers=headers)
            seen.append(dump(answer))
            return answer

        chat = {"model": "gpt-4o-mini", "messages": HELLO}
        assert call(live.key, "/chat/completions", chat).status_code == 200
        streamed = call(live.key, "/chat/completions", {**chat, "stream": True})
        assert streamed.status_code == 200
        embed = {"model": "text-embedding-3-small", "input": ["a", "b"]}
        assert call(live.key, "/embeddings", embed).status_code == 200
        assert call(doomed.key, "/models").status_code == 200
        leaky = {"model": "fake-error-401-leaky", "messages": HELLO}
        for body in (leaky, {**leaky, "stream": True}):
            answer = call(live.key, "/chat/completions", body)
            assert answer.status_code >= 400, answer.text
        leaky_embed = {"model": "fake-error-401-leaky", "input": "x"}
        assert call(live.key, "/embeddings", leaky_embed).status_code >= 400
        for model in ("fake-error-500", "fake-error-400", "no-such-model"):
            assert call(live.key, "/chat/completions", {**chat, "model": model}).status_code >= 400
        # keys sent where they do not belong: the answers must not echo them back
        assert call(gateway.admin_key, "/models").status_code == 401
        assert call(UPSTREAM_KEY, "/chat/completions", chat).status_code == 401
        with gateway.admin() as admin:
            revoked = admin.delete(f"/keys/{doomed.key_id}")
            assert revoked.status_code == 200
            seen.append(dump(revoked))
            seen.append(dump(admin.post("/keys", json={"team_id": live.team_id, "name": ""})))
            admin_as_key = httpx.get(
                f"{gateway.base_url}/admin/v1/usage",
                headers={"Authorization": f"Bearer {live.key}"},
            )
            assert admin_as_key.status_code == 401
            seen.append(dump(admin_as_key))
        assert call(doomed.key, "/chat/completions", chat).status_code == 401
        assert call(doomed.key, "/models").status_code == 401

    def audited() -> bool:
        with gateway.admin() as admin:
            rows = admin.get("/audit", params={"action": "key.revoke", "limit": 1000}).json()
        return any(row["target"] == f"key:{doomed.key_id}" for row in rows["rows"])

    eventually(audited)  # the worker has projected what was driven
    return seen, [live, doomed]


def secrets_of(gateway: GatewayProcess, tenants: list[Tenant]) -> dict[str, str]:
    found = {"upstream key": UPSTREAM_KEY, "admin key": gateway.admin_key}
    found.update({f"virtual key {t.key_id}": t.key for t in tenants})
    return found


def assert_absent(where: str, text: str, secrets: dict[str, str]) -> None:
    for label, secret in secrets.items():
        assert secret, label
        assert secret not in text, f"the {label} leaked into {where}"


def test_an_upstream_refusing_the_gateways_key_is_answered_in_the_gateways_words(
    driven: Any,
) -> None:
    """The upstream's 401 quotes the key it refused: the caller gets a 502 naming the provider,
    and none of the upstream's words."""
    seen, _ = driven
    refused = [text for text in seen if "credentials for provider `openai` were refused" in text]
    assert len(refused) == 3, "chat, stream and embeddings were not all answered so"
    assert all(text.startswith("502\n") for text in refused)
    assert not any("Incorrect API key provided:" in text for text in seen)  # the upstream's words


def test_no_secret_in_any_answer(driven: Any, gateway: GatewayProcess) -> None:
    seen, tenants = driven
    secrets = secrets_of(gateway, tenants)
    # the answer that issued a key is the one place its secret may appear: it was not collected
    for index, text in enumerate(seen):
        assert "Traceback" not in text
        assert_absent(f"answer #{index}:\n{text[:2000]}", text, secrets)


def test_no_secret_in_the_logs(driven: Any, gateway: GatewayProcess) -> None:
    logs = gateway.logs()
    assert "fake-error-401-leaky" in logs or "http.request" in logs, "the logs are empty"
    assert_absent("the gateway or worker logs", logs, secrets_of(gateway, driven[1]))


def test_no_secret_in_the_database(driven: Any, gateway: GatewayProcess) -> None:
    text = database_text(gateway.database_url)
    for table in ("orgs", "teams", "virtual_keys", "outbox", "audit_log", "usage_records"):
        assert f"== {table}\n" in text, f"table {table} was not dumped"
    assert driven[1][1].key_id in text, "the revoked key's row is missing"
    assert_absent("the database", text, secrets_of(gateway, driven[1]))


def test_virtual_keys_are_stored_as_their_sha256(driven: Any, gateway: GatewayProcess) -> None:
    engine = sa.create_engine(gateway.database_url)
    try:
        with engine.connect() as conn:
            stored = dict(conn.execute(sa.text("SELECT id, secret_hash FROM virtual_keys")).all())
    finally:
        engine.dispose()
    for tenant in driven[1]:
        assert stored[tenant.key_id] == hashlib.sha256(tenant.key.encode()).hexdigest()


def test_tokens_in_a_request_id_or_a_path_never_reach_the_logs(gateway: GatewayProcess) -> None:
    tokens = [
        scheme + secrets.token_urlsafe(32) for scheme in ("frs-", "fradm-", "fr-", "fra-", "frd-")
    ]
    with httpx.Client(base_url=gateway.base_url) as client:
        for token in tokens:
            for path in ("/v1/models", f"/scim/v2/Users/{token}", f"/admin/v1/orgs/{token}"):
                answer = client.get(path, headers={"x-request-id": token})
                assert answer.status_code in (401, 404), answer.text
                assert answer.headers["x-request-id"] != token  # replaced by one of ours
                assert token not in dump(answer)
        marker = "after-the-tokens-" + secrets.token_hex(4)
        assert client.get("/healthz", headers={"x-request-id": marker}).status_code == 200
    eventually(lambda: marker in gateway.logs())
    logs = gateway.logs()
    for token in tokens:
        assert token not in logs
        assert token[6:] not in logs
