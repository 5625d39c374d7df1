"""The four targets: the fake upstream, the bare pass-through and the gateway in two shapes."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis
import yaml

from tests.bench.procs import Child, Processes, http_ok, port_open, wait_until
from tests.support.gateway import gateway_config
from tests.support.processes import serving_workers
from tests.support.services import REDIS_URL, free_port, postgres_database
from tests.support.tenants import Tenant, create_tenant

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
# Every limit the gateway has, on one key, all too large to refuse during a run.
MAX_USD = "1000000"
MAX_TOKENS_PER_DAY = 10_000_000_000
RPM = 10_000_000
TPM = 10_000_000_000
RELOAD_WAIT_S = 3.0  # each gateway process reloads its limits every 2 s
LITELLM_ENV = "LITELLM_BIN"
LITELLM_VENV_BIN = Path(__file__).resolve().parents[2] / ".bench-venvs" / "litellm" / "bin"
LITELLM_MASTER_KEY = "sk-fluxbench-litellm-master-0123456789abcdef"


def request_body(stream: bool) -> bytes:
    body: dict[str, object] = {"model": MODEL, "messages": [{"role": "user", "content": PROMPT}]}
    if stream:
        body["stream"] = True
    return json.dumps(body, separators=(",", ":")).encode()


def limit_calls(tenant: Tenant) -> list[tuple[str, dict[str, object]]]:
    """The admin calls that put every budget and rate limit on a tenant's key (PUT path, body):
    a US-dollar budget for the month on its org, team and key, a token budget for the day on
    the key, rpm/tpm limits on the key and the team."""
    return [
        (f"/orgs/{tenant.org_id}/budget", {"period": "month", "max_usd": MAX_USD}),
        (f"/teams/{tenant.team_id}/budget", {"period": "month", "max_usd": MAX_USD}),
        (f"/teams/{tenant.team_id}/limits", {"rpm": RPM, "tpm": TPM}),
        (
            f"/keys/{tenant.key_id}/limits",
            {"rpm": RPM, "tpm": TPM, "max_usd": MAX_USD, "period": "month"},
        ),
        (f"/keys/{tenant.key_id}/budget", {"period": "day", "max_tokens": MAX_TOKENS_PER_DAY}),
    ]


def limit_everything(admin: httpx.Client, tenant: Tenant) -> None:
    for path, body in limit_calls(tenant):
        answer = admin.put(path, json=body)
        if answer.status_code != 200:
            raise RuntimeError(f"PUT {path} -> {answer.status_code} {answer.text}")


def wait_until_limited(chat_url: str, key: str, timeout: float = 20.0) -> int:
    """Until the gateway applies the key's limits (it answers with x-ratelimit-* headers):
    first one reload period (2 s) and a second, so that every process has reloaded them;
    how many requests it made."""
    time.sleep(RELOAD_WAIT_S)
    deadline = time.monotonic() + timeout
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    made = 0
    while True:
        answer = httpx.post(chat_url, content=request_body(False), headers=headers, timeout=30)
        made += 1
        if answer.status_code != 200:
            raise RuntimeError(f"chat -> {answer.status_code} {answer.text}")
        if any(name.lower().startswith("x-ratelimit-") for name in answer.headers):
            return made
        if time.monotonic() > deadline:
            raise RuntimeError(f"the gateway did not apply the key's limits within {timeout:g} s")
        time.sleep(0.5)


@dataclass
class Target:
    name: str
    description: str
    base_url: str  # scheme://host:port
    key: str
    children: list[Child] = field(default_factory=list)
    database_url: str | None = None  # the gateway's, to read its outbox backlog
    admin_key: str | None = None  # the gateway's, for its admin API
    served_before: int = 0  # requests already made through it (the limits probes)

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
def gateway(
    procs: Processes,
    workdir: Path,
    shape: str,
    upstream: Target,
    *,
    workers: int = 1,
    extra_env: dict[str, str] | None = None,
    limited: bool = False,
    adjust: Callable[[dict[str, Any]], None] | None = None,
) -> Iterator[Target]:
    """`fluxrouter serve --workers N` (+ `fluxrouter worker` for postgres) with one virtual
    key; `limited`: with every budget and rate limit on it (`limit_everything`), applied;
    `adjust`: changes the configuration before the gateway starts (more providers, routing)."""
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
        if adjust is not None:
            adjust(config)
        config_path = workdir / "fluxrouter.yaml"
        config_path.write_text(yaml.safe_dump(config))
        admin_key = "fradm-" + secrets.token_urlsafe(32)
        env = {
            **_clean_env(),
            "FLUXROUTER_CONFIG": str(config_path),
            "FLUXROUTER_ADMIN_KEY": admin_key,
            "TEST_UPSTREAM_KEY": upstream.key,
            **(extra_env or {}),
        }
        if namespace:
            env["FLUXROUTER_REDIS_NAMESPACE"] = namespace
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        fluxrouter = str(BIN / "fluxrouter")
        children: list[Child] = []
        try:
            serve = procs.spawn(
                f"gateway-{shape}",
                [fluxrouter, "serve", "--port", str(port), "--workers", str(workers)],
                env=env,
                cwd=workdir,
            )
            children.append(serve)
            wait_until(serve, http_ok(f"{base}/readyz"), what=f"gateway ({shape})")
            if workers > 1:  # each worker takes connections only once its app has started
                wait_until(
                    serve,
                    lambda: serving_workers(serve.proc.pid, workers, port) is not None,
                    what=f"gateway ({shape}): {workers} workers serving",
                )
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
                if limited:
                    limit_everything(admin, tenant)
            probes = wait_until_limited(base + CHAT_PATH, tenant.key) if limited else 0
            name = f"gateway-{shape}" + (f"-{workers}w" if workers > 1 else "")
            description = _describe(shape) + (
                f", {workers} worker processes" if workers > 1 else ""
            )
            yield Target(
                name,
                description,
                base,
                tenant.key,
                children,
                database_url=db_url,
                admin_key=admin_key,
                served_before=probes,
            )
        finally:
            for child in reversed(children):
                procs.stop(child)


def _describe(shape: str) -> str:
    if shape == "sqlite":
        return "gateway, embedded SQLite, no Redis"
    return "gateway, PostgreSQL + Redis + worker"


def litellm_bin() -> Path | None:
    """LiteLLM's proxy command: $LITELLM_BIN, else `.bench-venvs/litellm/bin/litellm`
    (`make bench-litellm-venv`); None when neither exists."""
    given = os.environ.get(LITELLM_ENV)
    found = Path(given) if given else LITELLM_VENV_BIN / "litellm"
    return found if found.is_file() and os.access(found, os.X_OK) else None


def litellm_version(command: Path) -> str:
    python = command.parent / "python"
    probe = [str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"]
    out = subprocess.run(probe, capture_output=True, text=True, check=False)
    return out.stdout.strip() or "unknown"


def start_litellm(procs: Processes, workdir: Path, upstream: Target, command: Path) -> Target:
    """LiteLLM's proxy in its default configuration (one process, a master key, no database),
    offline (`LITELLM_LOCAL_MODEL_COST_MAP=True`), routing gpt-4o-mini to the fake upstream."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = {
        "model_list": [
            {
                "model_name": MODEL,
                "litellm_params": {
                    "model": f"openai/{MODEL}",
                    "api_base": upstream.base_url + "/v1",
                    "api_key": upstream.key,
                },
            }
        ],
        "general_settings": {"master_key": LITELLM_MASTER_KEY},
    }
    config_path = workdir / "litellm.yaml"
    config_path.write_text(yaml.safe_dump(config))
    port = free_port()
    env = {**_clean_env(), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    argv = [str(command), "--config", str(config_path), "--host", "127.0.0.1", "--port", str(port)]
    child = procs.spawn("litellm", argv, env=env, cwd=workdir)
    base = f"http://127.0.0.1:{port}"
    wait_until(child, http_ok(f"{base}/health/liveliness"), what="LiteLLM proxy", timeout=120)
    version = litellm_version(command)
    return Target("litellm", f"LiteLLM {version} proxy", base, LITELLM_MASTER_KEY, [child])


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
