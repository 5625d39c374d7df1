"""The four targets: the fake upstream, the bare pass-through and the gateway in two shapes."""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis
import yaml

from tests.bench.procs import Child, Processes, http_ok, port_open, wait_until
from tests.support.gateway import gateway_config
from tests.support.services import REDIS_URL, free_port, postgres_database
from tests.support.tenants import create_tenant

BIN = Path(sys.executable).parent
MODEL = "gpt-4o-mini"
# 19 words: the fake replies "Echo: " + this, one SSE chunk per word, i.e. 20 content chunks.
PROMPT = (
    "please summarise the quarterly report on gateway latency and throughput "
    "for the platform team before the review on friday"
)
EXPECTED_REPLY = "Echo: " + PROMPT
EXPECTED_CHUNKS = 20
CHAT_PATH = "/v1/chat/completions"


def request_body(stream: bool) -> bytes:
    body: dict[str, object] = {"model": MODEL, "messages": [{"role": "user", "content": PROMPT}]}
    if stream:
        body["stream"] = True
    return json.dumps(body, separators=(",", ":")).encode()


@dataclass
class Target:
    name: str
    description: str
    base_url: str  # scheme://host:port
    key: str
    children: list[Child] = field(default_factory=list)
    database_url: str | None = None  # the gateway's, to read its outbox backlog

    @property
    def chat_url(self) -> str:
        return self.base_url + CHAT_PATH


def start_upstream(procs: Processes, key: str) -> Target:
    port = free_port()
    argv = [sys.executable, "-m", "tests.fakes.openai_upstream", "--host", "127.0.0.1"]
    child = procs.spawn("upstream", [*argv, "--port", str(port), "--expected-key", key])
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {key}"}
    wait_until(child, http_ok(f"{base}/v1/models", auth), what="fake upstream")
    return Target("upstream", "fake upstream, direct", base, key, [child])


def start_bare(procs: Processes, upstream: Target) -> Target:
    port = free_port()
    argv = [sys.executable, "-m", "tests.bench.bare_proxy", "--port", str(port)]
    argv += ["--upstream", upstream.base_url + "/v1", "--key", upstream.key]
    child = procs.spawn("bare-proxy", argv)
    wait_until(child, port_open(port), what="bare pass-through")
    base = f"http://127.0.0.1:{port}"
    return Target("bare", "bare pass-through (Litestar+aiohttp)", base, "unused", [child])


@contextmanager
def gateway(procs: Processes, workdir: Path, shape: str, upstream: Target) -> Iterator[Target]:
    """`fluxrouter serve` (+ `fluxrouter worker` for postgres) with one virtual key."""
    workdir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        namespace = None
        if shape == "sqlite":
            db_url, redis_url = f"sqlite+aiosqlite:///{workdir}/fluxrouter.db", None
        else:
            db_url = stack.enter_context(postgres_database("fluxrouter_bench"))
            redis_url, namespace = REDIS_URL, f"fluxrouter-bench-{secrets.token_hex(4)}"
            stack.callback(_drop_redis_namespace, namespace)
        config = gateway_config(
            database_url=db_url,
            redis_url=redis_url,
            upstream_url=upstream.base_url + "/v1",
            upstream_key=upstream.key,
        )
        config_path = workdir / "fluxrouter.yaml"
        config_path.write_text(yaml.safe_dump(config))
        admin_key = "fradm-" + secrets.token_urlsafe(32)
        env = {
            **_clean_env(),
            "FLUXROUTER_CONFIG": str(config_path),
            "FLUXROUTER_ADMIN_KEY": admin_key,
            "TEST_UPSTREAM_KEY": upstream.key,
        }
        if namespace:
            env["FLUXROUTER_REDIS_NAMESPACE"] = namespace
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        fluxrouter = str(BIN / "fluxrouter")
        children: list[Child] = []
        try:
            serve = procs.spawn(
                f"gateway-{shape}", [fluxrouter, "serve", "--port", str(port)], env=env, cwd=workdir
            )
            children.append(serve)
            wait_until(serve, http_ok(f"{base}/readyz"), what=f"gateway ({shape})")
            if shape != "sqlite":
                worker = procs.spawn(
                    f"worker-{shape}", [fluxrouter, "worker"], env=env, cwd=workdir
                )
                children.append(worker)
                wait_until(
                    worker,
                    lambda: "worker running" in worker.log_tail(100_000),
                    what=f"worker ({shape})",
                )
            with httpx.Client(
                base_url=f"{base}/admin/v1",
                timeout=10,
                headers={"Authorization": f"Bearer {admin_key}"},
            ) as admin:
                tenant = create_tenant(admin, f"bench-{shape}")
            name, description = f"gateway-{shape}", _describe(shape)
            yield Target(name, description, base, tenant.key, children, database_url=db_url)
        finally:
            for child in reversed(children):
                procs.stop(child)


def _describe(shape: str) -> str:
    if shape == "sqlite":
        return "gateway, embedded SQLite, no Redis"
    return "gateway, PostgreSQL + Redis + worker"


def _clean_env() -> dict[str, str]:
    """This environment minus FLUXROUTER_* overrides that would change the gateway's config."""
    return {k: v for k, v in os.environ.items() if not k.startswith("FLUXROUTER_")}


def _drop_redis_namespace(namespace: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{namespace}*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def sanity_check(target: Target) -> None:
    """One plain and one streamed request through `target`: status 200, the expected text,
    and exactly EXPECTED_CHUNKS content chunks in the stream."""
    headers = {"Authorization": f"Bearer {target.key}", "Content-Type": "application/json"}
    with httpx.Client(timeout=10) as client:
        plain = client.post(target.chat_url, content=request_body(False), headers=headers)
        if plain.status_code != 200:
            raise RuntimeError(f"{target.name}: plain chat -> {plain.status_code} {plain.text}")
        text = plain.json()["choices"][0]["message"]["content"]
        if text != EXPECTED_REPLY:
            raise RuntimeError(f"{target.name}: unexpected reply {text!r}")
        pieces: list[str] = []
        with client.stream(
            "POST", target.chat_url, content=request_body(True), headers=headers
        ) as r:
            if r.status_code != 200:
                raise RuntimeError(f"{target.name}: stream -> {r.status_code} {r.read()!r}")
            for line in r.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                for choice in json.loads(line[6:]).get("choices", []):
                    if choice.get("delta", {}).get("content"):
                        pieces.append(choice["delta"]["content"])
    if len(pieces) != EXPECTED_CHUNKS or "".join(pieces) != EXPECTED_REPLY:
        raise RuntimeError(f"{target.name}: stream gave {len(pieces)} content chunks {pieces!r}")
