"""The production shape with its Redis stopped: every route that needs Redis answers 503 with
`Retry-After`, in its own error shape, never a 500; once Redis is back, they answer again.

The Redis is a throwaway `redis-server` of this test's own, on a free port, without
persistence: the machine's shared Redis is never stopped."""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import UPSTREAM_KEY
from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.gemini_upstream import FakeGemini
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.gateway import GatewayProcess, gateway_config
from tests.support.services import free_port, postgres_database
from tests.support.tenants import create_tenant, eventually

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(400)]

HELLO = [{"role": "user", "content": "hi"}]


class ThrowawayRedis:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def outage_gateway(
    upstream: FakeOpenAI,
    anthropic_upstream: FakeAnthropic,
    gemini_upstream: FakeGemini,
    tmp_path: Path,
) -> Iterator[tuple[GatewayProcess, ThrowawayRedis]]:
    redis = ThrowawayRedis(tmp_path)
    redis.start()
    with postgres_database("fluxrouter_redis_outage") as url:
        config = gateway_config(
            database_url=url,
            redis_url=redis.url,
            upstream_url=upstream.base_url,
            upstream_key=UPSTREAM_KEY,
            anthropic_url=anthropic_upstream.base_url,
            gemini_url=gemini_upstream.base_url,
        )
        process = GatewayProcess(
            tmp_path,
            config,
            admin_key="fradm-" + secrets.token_urlsafe(32),
            upstream_key=UPSTREAM_KEY,
        )
        process.start()
        try:
            yield process, redis
        finally:
            process.stop()
            redis.stop()


def test_routes_needing_redis_answer_503_while_it_is_down_and_recover(
    outage_gateway: tuple[GatewayProcess, ThrowawayRedis],
) -> None:
    gateway, redis = outage_gateway
    with gateway.admin() as admin:
        tenant = create_tenant(admin, "redis-outage")
        limited = admin.put(
            f"/keys/{tenant.key_id}/limits", json={"period": "day", "max_tokens": 100000}
        )
        assert limited.status_code in (200, 201), limited.text
    key = {"Authorization": f"Bearer {tenant.key}"}
    chat = {"model": "gpt-4o-mini", "messages": HELLO}
    with httpx.Client(base_url=gateway.base_url, timeout=30) as client:
        assert client.post("/v1/chat/completions", json=chat, headers=key).status_code == 200
        redis.stop()
        answers = {
            "chat": client.post("/v1/chat/completions", json=chat, headers=key),
            "messages": client.post(
                "/v1/messages",
                json={"model": "claude-haiku-4-5", "max_tokens": 10, "messages": HELLO},
                headers={"x-api-key": tenant.key},
            ),
            "admin": client.put(
                f"/admin/v1/keys/{tenant.key_id}/limits",
                json={"period": "day", "max_tokens": 5000},
                headers={"Authorization": f"Bearer {gateway.admin_key}"},
            ),
        }
        # Anthropic's API has no 503: its surface says 529 `overloaded_error`, which its SDKs retry
        expected = {"chat": 503, "messages": 529}
        for name, status in expected.items():
            answer = answers[name]
            assert answer.status_code == status, (name, answer.status_code, answer.text)
            assert int(answer.headers["retry-after"]) >= 1, name
        assert answers["chat"].json()["error"]["type"] == "service_unavailable"
        assert answers["messages"].json()["type"] == "error"
        assert answers["messages"].json()["error"]["type"] == "overloaded_error"
        # the admin API's write lands in the database: it is either done, or a 503 problem
        admin = answers["admin"]
        assert admin.status_code in (200, 503), admin.text
        if admin.status_code == 503:
            assert admin.headers["content-type"].startswith("application/problem+json")
            assert int(admin.headers["retry-after"]) >= 1
        logs = gateway.logs()[-20000:]
        at = logs.find("Traceback")
        assert at < 0, logs[max(at - 600, 0) : at + 2500]

        redis.start()
        eventually(
            lambda: client.post("/v1/chat/completions", json=chat, headers=key).status_code == 200,
            timeout=30,
        )
